"""poll_feeds policy: private addresses, backoff, concurrency, unexpected errors, the all-failed
warning, and check_url (parse without storing).

A real HTTP server on 127.0.0.1 and a real SQLite file.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from feed_server import FeedServer, Reply
from ingest_helpers import FAST, HEALTHY_DOC, HTML_PAGE, by_name, item, rss, setup, state
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.errors import FetchError, ParseError
from monitor.ingest.fetch import HttpFetcher
from monitor.ingest.poll import check_url, poll_feeds
from monitor.store.articles import count_articles
from monitor.types import FetchResult
from tests.conftest import NOW, make_config


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
