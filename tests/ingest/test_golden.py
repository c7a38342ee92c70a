"""The real captured feeds in ../shared/data/feeds, served over 127.0.0.1 and polled for real:
every entry stored exactly once, a re-poll adds nothing, a 304 adds nothing and parses nothing."""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from feed_server import FeedServer, Reply
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.ingest.poll import poll_feeds
from monitor.store.articles import count_articles, list_articles
from monitor.store.feeds import find_feed, sync_config_feeds
from monitor.text import html_to_text
from monitor.types import Article
from tests.conftest import NOW, make_config, shared_data

pytestmark = pytest.mark.shared_data


def _serve(server: FeedServer, files: list[Path], validators: bool) -> dict[str, str]:
    """name -> URL; with validators, even files get an ETag and odd ones a Last-Modified."""
    urls = {}
    for i, path in enumerate(files):
        reply = Reply(body=path.read_bytes(), content_type="application/rss+xml")
        if validators and i % 2 == 0:
            reply.etag = f'"{path.stem[:20]}-v1"'
        elif validators:
            reply.last_modified = "Mon, 02 Nov 2026 09:00:00 GMT"
        urls[path.stem] = server.set(f"/{path.name}", reply)
    return urls


def _feedparser_view(path: Path, url: str) -> list[feedparser.FeedParserDict]:
    data = feedparser.parse(io.BytesIO(path.read_bytes()),
                            response_headers={"content-type": "application/rss+xml",
                                              "content-location": url})
    assert not data.bozo, f"{path.name} should parse cleanly"
    return list(data.entries)


def _real_feeds_served_and_synced(
        engine: Engine, tmp_path: Path, feed_server: FeedServer,
) -> tuple[list[Path], dict[str, str], Config]:
    """The captured feed files (at least 5), served without validators, each a feed of a
    config synced into the store at NOW: (files, name -> URL, config)."""
    files = sorted(shared_data("feeds").glob("*.xml"))
    assert len(files) >= 5
    urls = _serve(feed_server, files, validators=False)
    config = make_config(tmp_path, fetch={"connect_timeout": 2, "read_timeout": 2,
                                          "allow_private_addresses": True},
                         feeds=[{"name": n, "url": u} for n, u in urls.items()])
    with engine.begin() as conn:
        sync_config_feeds(conn, [f.spec() for f in config.feeds], NOW)
    return files, urls, config


def test_real_feeds_are_stored_once_and_conditional_get_stores_and_parses_nothing(
        engine: Engine, tmp_path: Path, feed_server: FeedServer) -> None:
    files, urls, config = _real_feeds_served_and_synced(engine, tmp_path, feed_server)
    first = poll_feeds(engine, config, NOW)
    assert {o.status for o in first} <= {"new", "unchanged"}, [o.error for o in first]

    # Independent statement of the dedup rule: one article per distinct (title, summary)
    # text across all files (a re-published copy is the same article), and every entry there.
    texts_per_file: dict[str, set[tuple[str, str]]] = {}
    with engine.connect() as conn:
        stored = {_text_key(a.title, a.summary): a for a in list_articles(conn, limit=100_000)}
        for path in files:
            seen = _feedparser_view(path, urls[path.stem])
            texts_per_file[path.name] = {
                _text_key(e.get("title"), e.get("summary")) for e in seen}
            feed = find_feed(conn, path.stem)
            assert feed is not None and feed.error_count == 0 and feed.last_status == 200
            assert 0 < count_articles(conn, feed.id) <= len(seen), path.name
            assert texts_per_file[path.name] <= stored.keys(), f"entries of {path.name} missing"
            _spot_check(stored, seen)
        expected_total = len(set().union(*texts_per_file.values()))
        assert count_articles(conn) == expected_total == len(stored)

    second = poll_feeds(engine, config, NOW + timedelta(hours=1), only_due=False)
    assert {(o.status, o.new_articles) for o in second} == {("unchanged", 0)}

    # Now the server gives validators: one 200 stores them, the next poll is all 304s.
    urls = _serve(feed_server, files, validators=True)
    third = poll_feeds(engine, config, NOW + timedelta(hours=2), only_due=False)
    assert {(o.status, o.new_articles, o.http_status) for o in third} == {("unchanged", 0, 200)}
    bodies_before = sum(feed_server.bodies_sent.values())
    fourth = poll_feeds(engine, config, NOW + timedelta(hours=3), only_due=False)
    assert {(o.status, o.new_articles, o.http_status, o.seen_entries) for o in fourth} == {
        ("unchanged", 0, 304, 0)}
    assert sum(feed_server.bodies_sent.values()) == bodies_before  # no body sent or parsed
    conditional = [h for _, h in feed_server.requests[-len(files):]]
    assert all("if-none-match" in h or "if-modified-since" in h for h in conditional)
    with engine.connect() as conn:
        assert count_articles(conn) == expected_total
        for name in urls:
            feed = find_feed(conn, name)
            assert feed is not None and feed.error_count == 0
            assert feed.etag or feed.last_modified


def _text_key(title: str | None, summary: str | None) -> tuple[str, str]:
    return (" ".join(html_to_text(title).lower().split()),
            " ".join(html_to_text(summary).lower().split()))


def _spot_check(stored: dict[tuple[str, str], Article],
                seen: list[feedparser.FeedParserDict]) -> None:
    for entry in (seen[0], seen[len(seen) // 2], seen[-1]):
        article = stored[_text_key(entry.get("title"), entry.get("summary"))]
        assert article.title == html_to_text(entry.get("title"))
        assert article.link == entry.get("link").strip()
        assert (article.link or "").startswith(("http://", "https://"))
        when = datetime.fromtimestamp(calendar.timegm(entry.published_parsed), tz=UTC)
        assert article.published_at == when and article.published_at.utcoffset() == timedelta(0)
