"""poll_feeds when a feed fails (timeouts, refusals, HTTP errors, redirects, bad documents):
the failing feed's state records the error and the other feed of the same tick is unaffected.

Every fault test polls the faulty feed together with a healthy one in the same call, after
articles were already stored for the faulty feed, and then checks the stored feed state.
A real HTTP server on 127.0.0.1 and a real SQLite file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from feed_server import FeedServer, Reply
from ingest_helpers import HEALTHY_DOC, HTML_PAGE, by_name, item, preload, rss, setup, state, stored
from sqlalchemy.engine import Engine

from monitor.ingest.poll import poll_feeds
from tests.conftest import NOW

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
