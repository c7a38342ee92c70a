"""poll_feeds against a real HTTP server on 127.0.0.1 and a real SQLite file: one test per fault.

Every fault test polls the faulty feed together with a healthy one in the same call, after
articles were already stored for the faulty feed, and then checks the stored feed state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import FeedServer, Reply, item, rss
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.errors import FetchError, ParseError
from monitor.ingest.fetch import HttpFetcher
from monitor.ingest.parse import parse_feed
from monitor.ingest.poll import check_url, poll_feeds
from monitor.store.articles import count_articles, insert_entries, list_articles
from monitor.store.feeds import find_feed, sync_config_feeds
from monitor.store.schema import articles
from monitor.types import FeedState, FetchResult, PollOutcome
from tests.conftest import NOW, make_config

FAST = {"connect_timeout": 0.5, "read_timeout": 0.5, "allow_private_addresses": True,
        "backoff_base_seconds": 60.0, "backoff_max_seconds": 3600.0, "jitter": 0.0,
        "max_body_bytes": 4096}
HEALTHY_DOC = rss(item(1), item(2), title="Healthy")


def setup(engine: Engine, tmp_path: Path, feeds: dict[str, str], **fetch: Any) -> Config:
    """A config with these feeds (name -> URL), synced into the store at NOW."""
    specs = [{"name": n, "url": u, "poll_minutes": 15} for n, u in feeds.items()]
    config = make_config(tmp_path, fetch={**FAST, **fetch}, feeds=specs)
    with engine.begin() as conn:
        sync_config_feeds(conn, [f.spec() for f in config.feeds], NOW)
    return config


def state(engine: Engine, name: str) -> FeedState:
    with engine.connect() as conn:
        feed = find_feed(conn, name)
    assert feed is not None
    return feed


def stored(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return count_articles(conn, state(engine, name).id)


def by_name(outcomes: list[PollOutcome]) -> dict[str, PollOutcome]:
    return {o.feed_name: o for o in outcomes}


def preload(engine: Engine, name: str) -> None:
    """Articles already stored for a feed before its fault: they must survive it."""
    entries = parse_feed(rss(item(901), item(902)), url="http://example.com/", headers={},
                         fetched_at=NOW - timedelta(hours=1),
                         future_tolerance=timedelta(minutes=10)).entries
    with engine.begin() as conn:
        insert_entries(conn, state(engine, name).id, entries, NOW - timedelta(hours=1))


# --- errors: the feed's state records the error, the other feed of the tick is unaffected ---

@dataclass(frozen=True)
class Fault:
    route: Callable[[FeedServer, str], str]  # sets up the server, returns the faulty feed URL
    message: str  # expected in last_error
    status: int | None


def _route(reply: Reply) -> Callable[[FeedServer, str], str]:
    return lambda server, _closed: server.set("/faulty.xml", reply)


def _loop(server: FeedServer, _closed: str) -> str:
    server.set("/loop-a", Reply(status=301, headers={"Location": "/loop-b"}))
    server.set("/loop-b", Reply(status=302, headers={"Location": "/loop-a"}))
    return server.url("/loop-a")


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "lol">\n'
                  + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">\n'
                            for i in range(9))
                  + ']>\n<rss version="2.0"><channel><title>x</title><item><title>&j;</title>'
                    "<guid>urn:x</guid></item></channel></rss>").encode()
TRUNCATED = rss(item(1))[:rss(item(1)).index(b"Summary")]
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Markets | Example</title></head>"
             b"<body><h1>Markets</h1><p>Read our latest news.</p></body></html>")

FAULTS = {
    "read-timeout": Fault(_route(Reply(body=rss(item(5)), delay=1.2)), "sent nothing for 0.5 s",
                          None),
    "connection-refused": Fault(lambda _s, closed: closed, "cannot connect to 127.0.0.1", None),
    "http-404": Fault(_route(Reply(status=404, body=b"no", content_type="text/plain")),
                      "HTTP 404 Not Found", 404),
    "http-500": Fault(_route(Reply(status=500, body=b"oops", content_type="text/plain")),
                      "HTTP 500 Internal Server Error", 500),
    "redirect-loop": Fault(_loop, "redirect loop", 302),
    "body-over-cap": Fault(_route(Reply(body=b"<rss>" + b"x" * 50_000, send_length=False)),
                           "sent more than 4096 bytes", None),
    "html-instead-of-feed": Fault(_route(Reply(body=HTML_PAGE, content_type="text/html")),
                                  "not an RSS or Atom feed", None),
    "truncated-xml": Fault(_route(Reply(body=TRUNCATED)), "not well-formed XML at line", None),
    "entity-bomb": Fault(_route(Reply(body=BILLION_LAUGHS)), "declares XML entities", None),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_fault_is_recorded_and_other_feeds_go_on(
        fault: Fault, engine: Engine, tmp_path: Path, feed_server: FeedServer,
        closed_port_url: str) -> None:
    faulty_url = fault.route(feed_server, closed_port_url)
    healthy_url = feed_server.set("/healthy.xml", Reply(body=HEALTHY_DOC))
    config = setup(engine, tmp_path, {"faulty": faulty_url, "healthy": healthy_url})
    preload(engine, "faulty")

    started = time.monotonic()
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert time.monotonic() - started < 5

    bad = outcomes["faulty"]
    assert bad.status == "error" and fault.message in (bad.error or "")
    assert (outcomes["healthy"].status, outcomes["healthy"].new_articles) == ("new", 2)
    feed = state(engine, "faulty")
    assert feed.error_count == 1 and feed.enabled
    assert fault.message in (feed.last_error or "")
    assert feed.last_status == fault.status
    assert feed.next_check_at is not None and feed.next_check_at > NOW
    assert stored(engine, "faulty") == 2  # nothing already stored was lost
    assert stored(engine, "healthy") == 2


def test_http_410_disables_the_feed_with_a_visible_reason(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    gone = feed_server.set("/gone.xml", Reply(status=410, body=b"gone"))
    config = setup(engine, tmp_path, {"gone": gone, "healthy": feed_server.set(
        "/healthy.xml", Reply(body=HEALTHY_DOC))})
    preload(engine, "gone")
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert outcomes["gone"].status == "disabled" and outcomes["gone"].http_status == 410
    assert outcomes["healthy"].new_articles == 2
    feed = state(engine, "gone")
    assert not feed.enabled and "410 Gone" in (feed.disabled_reason or "")
    assert feed.last_status == 410 and "410" in (feed.last_error or "") and feed.error_count == 1
    assert feed.next_check_at is not None and feed.next_check_at > NOW
    assert stored(engine, "gone") == 2
    # Later polls skip it, even forced ones, and say why when it is asked for by id.
    hits = feed_server.hits["/gone.xml"]
    assert "gone" not in by_name(poll_feeds(engine, config, NOW + timedelta(days=1),
                                            only_due=False))
    again = poll_feeds(engine, config, NOW + timedelta(days=1), feed_ids=[feed.id])
    assert [(o.status, "410" in (o.error or "")) for o in again] == [("disabled", True)]
    assert feed_server.hits["/gone.xml"] == hits


def test_http_301_updates_the_stored_url_and_stores_entries(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    old = feed_server.set("/old.xml", Reply(status=301, headers={"Location": "/new.xml"}))
    new = feed_server.set("/new.xml", Reply(body=rss(item(11), item(12), item(13))))
    config = setup(engine, tmp_path, {"moved": old, "healthy": feed_server.set(
        "/healthy.xml", Reply(body=HEALTHY_DOC))})
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert (outcomes["moved"].status, outcomes["moved"].new_articles) == ("new", 3)
    assert outcomes["healthy"].new_articles == 2
    feed = state(engine, "moved")
    assert feed.url == new and feed.error_count == 0 and feed.last_status == 200
    poll_feeds(engine, config, NOW + timedelta(hours=1), only_due=False)
    assert feed_server.hits["/old.xml"] == 1 and feed_server.hits["/new.xml"] == 2
    assert stored(engine, "moved") == 3


def test_301_to_another_feeds_url_keeps_the_url_and_says_why(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    old = feed_server.set("/old.xml", Reply(status=301, headers={"Location": "/healthy.xml"}))
    healthy = feed_server.set("/healthy.xml", Reply(body=HEALTHY_DOC))
    config = setup(engine, tmp_path, {"moved": old, "healthy": healthy})
    outcomes = by_name(poll_feeds(engine, config, NOW))
    # Same document twice: whichever feed is stored first gets the articles (content dedup).
    assert outcomes["healthy"].new_articles + outcomes["moved"].new_articles == 2
    assert outcomes["moved"].status != "error"
    feed = state(engine, "moved")
    assert feed.url == old and "already the URL of feed 'healthy'" in (feed.last_error or "")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured(
        status: int, engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.set("/busy.xml", Reply(status=status, headers={"Retry-After": "7200"}))
    config = setup(engine, tmp_path, {"busy": url, "healthy": feed_server.set(
        "/healthy.xml", Reply(body=HEALTHY_DOC))})
    preload(engine, "busy")
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert outcomes["healthy"].new_articles == 2
    feed = state(engine, "busy")
    assert feed.next_check_at == NOW + timedelta(seconds=7200)  # backoff alone: 60 s
    assert feed.last_status == status and "retry after 7200 s" in (feed.last_error or "")
    assert feed.error_count == 1 and stored(engine, "busy") == 2


def test_retry_after_as_http_date_is_honoured(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    def busy(_headers: dict[str, str]) -> Reply:
        # The server's own clock: the fetcher reads the date relative to the Date header.
        from datetime import UTC
        when = datetime.now(UTC) + timedelta(hours=3)
        return Reply(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    config = setup(engine, tmp_path, {"busy": feed_server.set("/busy.xml", busy)})
    poll_feeds(engine, config, NOW)
    wait = (state(engine, "busy").next_check_at - NOW).total_seconds()  # type: ignore[operator]
    assert 3 * 3600 - 5 <= wait <= 3 * 3600


# --- survivable documents: entries kept, state says what was odd, nothing breaks ---

def test_wrong_declared_encoding_keeps_entries_with_a_warning(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    body = rss(item(1, title="Société Générale chute"), encoding="latin-1").replace(
        b'encoding="latin-1"', b'encoding="utf-8"')
    config = setup(engine, tmp_path, {"enc": feed_server.set("/enc.xml", Reply(body=body)),
                                      "healthy": feed_server.set("/healthy.xml",
                                                                 Reply(body=HEALTHY_DOC))})
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert outcomes["enc"].status == "new" and outcomes["healthy"].new_articles == 2
    with engine.connect() as conn:
        (article,) = list_articles(conn, feed_id=state(engine, "enc").id)
    assert article.title == "Société Générale chute"
    feed = state(engine, "enc")
    assert feed.error_count == 0 and "declared as utf-8" in (feed.last_error or "")
    assert feed.next_check_at is not None and feed.next_check_at > NOW


def test_truncated_xml_with_complete_entries_keeps_them_and_drops_the_cut_one(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    body = rss(item(1), item(2), item(3))
    cut = body[: body.index(b"Summary of story 3")]
    config = setup(engine, tmp_path, {"cut": feed_server.set("/cut.xml", Reply(body=cut))})
    (outcome,) = poll_feeds(engine, config, NOW)
    assert (outcome.status, outcome.new_articles) == ("new", 2)
    assert "dropped 1 incomplete" in (state(engine, "cut").last_error or "")
    with engine.connect() as conn:
        guids = set(conn.execute(select(articles.c.guid)).scalars())
    assert guids == {"urn:test:1", "urn:test:2"}


def test_empty_feed_is_not_an_error(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    config = setup(engine, tmp_path, {"empty": feed_server.set("/e.xml", Reply(body=rss()))})
    (outcome,) = poll_feeds(engine, config, NOW)
    assert (outcome.status, outcome.new_articles, outcome.seen_entries) == ("unchanged", 0, 0)
    feed = state(engine, "empty")
    assert (feed.error_count, feed.last_error, feed.last_status) == (0, None, 200)
    assert feed.next_check_at == NOW + timedelta(minutes=15)


def test_entries_without_guid_date_or_link_are_stored_once(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    body = rss({"title": "Link but no guid", "link": "/story/1"},
               {"title": "Nothing but a title", "pubDate": "Mon, 02 Nov 2026 08:00:00 GMT"},
               {"title": "No date at all", "guid": "urn:nodate"},
               {"description": "Only a description, no title."},
               {"link": "http://example.com/empty"})  # no text at all: skipped
    url = feed_server.set("/odd.xml", Reply(body=body))
    config = setup(engine, tmp_path, {"odd": url})
    (outcome,) = poll_feeds(engine, config, NOW)
    assert (outcome.new_articles, outcome.seen_entries) == (4, 4)
    with engine.connect() as conn:
        rows = {a.title: a for a in list_articles(conn)}
    assert rows["Link but no guid"].guid == feed_server.url("/story/1")
    assert rows["Link but no guid"].link == feed_server.url("/story/1")
    assert rows["Nothing but a title"].guid.startswith("sha256:")
    assert rows["No date at all"].published_at == NOW
    assert rows["Only a description, no title."].summary == "Only a description, no title."
    assert all(a.published_at.tzinfo is not None for a in rows.values())
    (again,) = poll_feeds(engine, config, NOW + timedelta(hours=1), only_due=False)
    assert (again.status, again.new_articles) == ("unchanged", 0)
    assert stored(engine, "odd") == 4


def test_duplicate_guids_in_one_document_store_one_article(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    body = rss(item(1), item(1, title="Same guid, other title"), item(2), item(2))
    config = setup(engine, tmp_path, {"dup": feed_server.set("/dup.xml", Reply(body=body))})
    (outcome,) = poll_feeds(engine, config, NOW)
    assert outcome.new_articles == 2 and stored(engine, "dup") == 2
    assert state(engine, "dup").error_count == 0


def test_republished_copy_in_another_feed_adds_nothing(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    copy = rss(item(1, guid="urn:other:1", link="http://mirror.example.com/1",
                    title="  HEADLINE   number 1 "))
    config = setup(engine, tmp_path, {"a": feed_server.set("/a.xml", Reply(body=HEALTHY_DOC)),
                                      "b": feed_server.set("/b.xml", Reply(body=copy))})
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert outcomes["a"].new_articles + outcomes["b"].new_articles == 2


# --- policy, backoff, concurrency, unexpected errors ---

def test_private_address_is_refused_and_no_request_is_made(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.set("/feed.xml", Reply(body=HEALTHY_DOC))
    config = setup(engine, tmp_path, {"local": url, "file": (tmp_path / "f.xml").as_uri()},
                   allow_private_addresses=False)
    outcomes = by_name(poll_feeds(engine, config, NOW))
    assert "non-public address 127.0.0.1" in (outcomes["local"].error or "")
    assert "allow_private_addresses" in (outcomes["file"].error or "")
    assert sum(feed_server.hits.values()) == 0
    assert state(engine, "local").error_count == 1


def test_backoff_grows_with_repeated_errors_and_resets_on_success(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    url = feed_server.set("/flaky.xml", Reply(status=500))
    config = setup(engine, tmp_path, {"flaky": url})
    now, delays = NOW, []
    for _ in range(5):
        (outcome,) = poll_feeds(engine, config, now)  # only_due: it must be due each time
        assert outcome.status == "error"
        due = state(engine, "flaky").next_check_at
        assert due is not None
        delays.append((due - now).total_seconds())
        assert poll_feeds(engine, config, due - timedelta(seconds=1)) == []  # not due yet
        now = due
    assert delays == [60, 120, 240, 480, 960]
    assert state(engine, "flaky").error_count == 5
    feed_server.set("/flaky.xml", Reply(body=HEALTHY_DOC))
    (outcome,) = poll_feeds(engine, config, now)
    feed = state(engine, "flaky")
    assert outcome.new_articles == 2 and feed.error_count == 0 and feed.last_error is None
    assert feed.next_check_at == now + timedelta(minutes=15)


def test_fetches_run_concurrently_up_to_the_limit(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    feeds = {f"slow{i}": feed_server.set(f"/slow{i}.xml", Reply(
        body=rss(item(10 * i), title=f"slow {i}"), delay=0.3)) for i in range(6)}
    config = setup(engine, tmp_path, feeds)
    config = config.model_copy(update={"scheduler": config.scheduler.model_copy(
        update={"max_concurrent_fetches": 3})})
    outcomes = poll_feeds(engine, config, NOW)
    assert [o.new_articles for o in outcomes] == [1] * 6
    assert feed_server.max_in_flight == 3


class ExplodingFetcher:
    """A Fetcher whose one URL hits a bug (not a FetchError); others go over real HTTP."""

    def __init__(self, config: Config) -> None:
        self.http = HttpFetcher(config.fetch)

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult:
        if "explode" in url:
            raise RuntimeError("boom")
        return self.http.fetch(url, etag=etag, last_modified=last_modified)

    def close(self) -> None:
        self.http.close()


def test_unexpected_exception_becomes_the_feeds_error_and_is_logged_with_traceback(
        engine: Engine, tmp_path: Path, feed_server: FeedServer,
        caplog: pytest.LogCaptureFixture) -> None:
    config = setup(engine, tmp_path, {"bug": feed_server.url("/explode.xml"),
                                      "healthy": feed_server.set("/healthy.xml",
                                                                 Reply(body=HEALTHY_DOC))})
    fetcher = ExplodingFetcher(config)
    with caplog.at_level(logging.INFO, logger="monitor.ingest"):
        outcomes = by_name(poll_feeds(engine, config, NOW, fetcher=fetcher))
    fetcher.close()
    assert outcomes["bug"].status == "error" and outcomes["healthy"].new_articles == 2
    assert "unexpected error RuntimeError: boom" in (state(engine, "bug").last_error or "")
    tracebacks = [r for r in caplog.records if r.exc_info and "boom" in str(r.exc_info[1])]
    assert len(tracebacks) == 1


def test_when_every_feed_fails_one_warning_points_to_make_demo(
        engine: Engine, tmp_path: Path, feed_server: FeedServer, closed_port_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    config = setup(engine, tmp_path, {"a": closed_port_url, "b": feed_server.url("/none")})
    with caplog.at_level(logging.WARNING, logger="monitor.ingest"):
        outcomes = poll_feeds(engine, config, NOW)
    assert [o.status for o in outcomes] == ["error", "error"]
    demo = [r for r in caplog.records if "make demo" in r.getMessage()]
    assert len(demo) == 1 and "every feed failed" in demo[0].getMessage()
    caplog.clear()
    feed_server.set("/none", Reply(body=HEALTHY_DOC))
    with caplog.at_level(logging.WARNING, logger="monitor.ingest"):
        poll_feeds(engine, config, NOW, only_due=False)
    assert not [r for r in caplog.records if "make demo" in r.getMessage()]


def test_check_url_parses_and_stores_nothing(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    config = make_config(tmp_path, fetch=FAST)
    parsed = check_url(feed_server.set("/f.xml", Reply(body=HEALTHY_DOC)), config, NOW)
    assert parsed.title == "Healthy" and len(parsed.entries) == 2
    with pytest.raises(FetchError, match="HTTP 404"):
        check_url(feed_server.url("/missing"), config, NOW)
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        check_url(feed_server.set("/page", Reply(body=HTML_PAGE, content_type="text/html")),
                  config, NOW)
    with engine.connect() as conn:
        assert count_articles(conn) == 0
