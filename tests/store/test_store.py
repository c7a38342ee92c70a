"""Store tests, run on a real SQLite file and a real PostgreSQL database (any_engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from monitor.store import articles as A
from monitor.store import feeds as F
from monitor.store import scores as S
from monitor.store.engine import (
    current_revision,
    ensure_current,
    head_revision,
    include_name,
    make_engine,
)
from monitor.store.schema import feeds, metadata
from monitor.types import Entry, FeedSpec, Prediction
from tests.conftest import NOW


def _entry(guid: str, title: str, *, minutes: int = 0) -> Entry:
    return Entry(guid=guid, link=f"https://example.com/{guid}", title=title, summary="s",
                 published_at=NOW - timedelta(minutes=minutes), content_hash=f"hash-{title}")


def _feed(engine: Engine, name: str = "wire", url: str = "https://example.com/rss") -> int:
    with engine.begin() as conn:
        F.sync_config_feeds(conn, [FeedSpec(name, url)], NOW)
        found = F.find_feed(conn, name)
    assert found is not None
    return found.id


def test_migrated_to_head_and_schema_matches_migrations(any_engine: Engine) -> None:
    assert current_revision(any_engine) == head_revision()
    ensure_current(any_engine)
    with any_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_unmigrated_database_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from monitor.errors import StoreError

    eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreError, match="finsentinel db upgrade"):
        ensure_current(eng)


def test_times_round_trip_as_aware_utc(any_engine: Engine) -> None:
    fid = _feed(any_engine)
    published = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
    with any_engine.begin() as conn:
        A.insert_entries(conn, fid, [Entry("g", None, "t", "s", published, "h")], NOW)
        (art,) = A.list_articles(conn)
    assert art.published_at == published and art.published_at.tzinfo is not None
    assert art.fetched_at == NOW


def test_naive_datetimes_are_refused(any_engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), any_engine.begin() as conn:
        conn.execute(insert(feeds).values(name="n", url="u", enabled=True, poll_minutes=1,
                                          tags=[], from_config=False, error_count=0,
                                          created_at=datetime(2026, 1, 1)))


def test_insert_dedups_by_guid_content_hash_and_within_document(any_engine: Engine) -> None:
    fid = _feed(any_engine)
    other = _feed(any_engine, "other", "https://other.example.com/rss")
    batch = [_entry("a", "Oil slumps"), _entry("a", "Oil slumps"), _entry("b", "Gold rises")]
    with any_engine.begin() as conn:
        assert A.insert_entries(conn, fid, batch, NOW) == 2
        assert A.insert_entries(conn, fid, batch, NOW) == 0
        # A re-published copy (same content, another feed and guid) adds nothing.
        assert A.insert_entries(conn, other, [_entry("zzz", "Oil slumps")], NOW) == 0
        assert A.count_articles(conn) == 2


def test_feed_state_success_and_error_bookkeeping(any_engine: Engine) -> None:
    fid = _feed(any_engine)
    later = NOW + timedelta(minutes=15)
    with any_engine.begin() as conn:
        assert [f.id for f in F.due_feeds(conn, NOW)] == [fid]
        F.record_error(conn, fid, now=NOW, next_check_at=later, error="HTTP 500", status=500)
        F.record_error(conn, fid, now=NOW, next_check_at=later, error="HTTP 500", status=500)
        assert F.due_feeds(conn, NOW) == []
        state = F.get_feed(conn, fid)
        assert state is not None and state.error_count == 2 and state.last_error == "HTTP 500"
        F.record_success(conn, fid, now=later, next_check_at=later + timedelta(minutes=15),
                         status=200, etag='"v1"', last_modified=None)
        state = F.get_feed(conn, fid)
        assert state is not None
        assert (state.error_count, state.last_error, state.etag) == (0, None, '"v1"')
        F.record_error(conn, fid, now=later, next_check_at=later, error="gone", status=410,
                       disable_reason="HTTP 410 Gone: the publisher removed this feed")
        state = F.get_feed(conn, fid)
        assert state is not None and not state.enabled and "410" in (state.disabled_reason or "")


def test_config_sync_keeps_state_and_respects_disabled_reason(any_engine: Engine) -> None:
    fid = _feed(any_engine)
    with any_engine.begin() as conn:
        F.record_error(conn, fid, now=NOW, next_check_at=NOW, error="gone", status=410,
                       disable_reason="HTTP 410 Gone")
        F.sync_config_feeds(conn, [FeedSpec("wire", "https://example.com/rss")], NOW)
        state = F.get_feed(conn, fid)
        assert state is not None and not state.enabled  # 410 stays visible until someone acts
        F.sync_config_feeds(conn, [FeedSpec("wire", "https://moved.example.com/rss")], NOW)
        state = F.get_feed(conn, fid)
        assert state is not None and state.url == "https://moved.example.com/rss"
        assert conn.execute(select(feeds.c.id)).scalars().all() == [fid]


def test_scores_keep_history_and_current_columns(any_engine: Engine) -> None:
    fid = _feed(any_engine)
    with any_engine.begin() as conn:
        A.insert_entries(conn, fid, [_entry("a", "Oil slumps"), _entry("b", "Gold rises")], NOW)
        todo = S.articles_to_score(conn, "sentiment", "v1", limit=10)
        assert len(todo) == 2
        probs = {"negative": 0.7, "neutral": 0.2, "positive": 0.1}
        preds = [Prediction(a.id, "sentiment", "v1", "negative", probs) for a in todo]
        topics = [Prediction(a.id, "topic", "t1", "Energy | Oil", {"Energy | Oil": 0.9,
                                                                    "Markets": 0.1})
                  for a in todo]
        # One call may mix tasks (the score job stores both heads' results together).
        assert S.save_predictions(conn, preds + topics, NOW) == 4
        assert S.save_predictions(conn, preds, NOW) == 0  # idempotent
        assert S.articles_to_score(conn, "sentiment", "v1", limit=10) == []
        # A new version re-scores only the window it is asked for; history stays.
        assert S.articles_to_score(conn, "sentiment", "v2", limit=10) == []
        window = S.articles_to_score(conn, "sentiment", "v2", limit=10,
                                     published_since=NOW - timedelta(minutes=1))
        assert len(window) == 2
        new = {"negative": 0.1, "neutral": 0.2, "positive": 0.7}
        S.save_predictions(conn, [Prediction(window[0].id, "sentiment", "v2", "positive", new)],
                           NOW)
        history = S.score_history(conn, window[0].id)
        assert [(h["task"], h["model_version"]) for h in history] == [
            ("sentiment", "v1"), ("topic", "t1"), ("sentiment", "v2")]
        row = conn.exec_driver_sql(
            f"SELECT sentiment, p_positive, sentiment_version FROM articles "
            f"WHERE id = {window[0].id}").one()
        assert tuple(row) == ("positive", 0.7, "v2")


def test_remove_feed_removes_its_articles(any_engine: Engine) -> None:
    fid = _feed(any_engine)
    with any_engine.begin() as conn:
        A.insert_entries(conn, fid, [_entry("a", "Oil slumps")], NOW)
        assert F.remove_feed(conn, "wire") is True
        assert A.count_articles(conn) == 0
        assert F.remove_feed(conn, "wire") is False
