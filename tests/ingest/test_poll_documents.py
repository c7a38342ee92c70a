"""poll_feeds on survivable documents (odd encoding, cut XML, empty, missing fields, duplicates):
entries are kept once, the feed state says what was odd, nothing breaks.

A real HTTP server on 127.0.0.1 and a real SQLite file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from feed_server import FeedServer, Reply
from ingest_helpers import HEALTHY_DOC, by_name, item, rss, setup, state, stored
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.ingest.poll import poll_feeds
from monitor.store.articles import list_articles
from monitor.store.schema import articles
from tests.conftest import NOW


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
