"""The sentiment index SQL (monitor/store/stats.py) and the alert evidence query
(monitor/store/headlines.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.errors import StoreError
from monitor.store.headlines import negative_headlines
from monitor.store.stats import bucket_counts, scope_counts, sentiment_series
from tests.alerts.helpers import Seed, seed_articles
from tests.conftest import NOW


def _seed(conn):
    t0 = NOW.replace(minute=0) - timedelta(hours=2)  # 12:00
    seeds = [
        Seed("wire", t0 + timedelta(minutes=5), "negative", 0.8, "Energy | Oil", "Oil slumps"),
        Seed("wire", t0 + timedelta(minutes=10), "negative", 0.6, "Energy | Oil", "Oil falls"),
        Seed("wire", t0 + timedelta(minutes=50), "positive", 0.9, "Markets"),
        Seed("blog", t0 + timedelta(minutes=70), "neutral", 0.7, "Markets"),
        Seed("blog", t0 + timedelta(minutes=75), "negative", 0.9, None, "Untopical"),
        Seed("blog", t0 - timedelta(minutes=1), "negative", 0.9, "Markets"),  # before start
    ]
    seed_articles(conn, seeds, NOW)
    return t0


def test_series_all_hourly_buckets(any_engine):
    with any_engine.begin() as conn:
        t0 = _seed(conn)
        pts = sentiment_series(conn, start=t0, end=NOW, bucket_minutes=60)
    assert [(p.bucket_start, p.articles, p.negative) for p in pts] == [
        (t0, 3, 2), (t0 + timedelta(hours=1), 2, 1)]
    first = pts[0]
    assert first.scope_value == "all" and first.bucket_end == t0 + timedelta(hours=1)
    assert first.negative_share == pytest.approx(2 / 3)
    assert first.negative_weight == pytest.approx(0.8 + 0.6)
    assert first.negative_mass == pytest.approx(0.8 + 0.6 + 0.05)
    # index = mean(p_pos - p_neg): (0.1-0.8) + (0.2-0.6) + (0.9-0.05) over 3
    assert first.sentiment_index == pytest.approx(((0.1 - 0.8) + (0.2 - 0.6) + 0.85) / 3)


def test_series_topic_and_feed_scopes(any_engine):
    with any_engine.begin() as conn:
        t0 = _seed(conn)
        topics = sentiment_series(conn, start=t0, end=NOW, bucket_minutes=30, scope_kind="topic")
        oil = sentiment_series(conn, start=t0, end=NOW, bucket_minutes=30, scope_kind="topic",
                               scope_values=["Energy | Oil"])
        feeds = scope_counts(conn, start=t0, end=NOW, scope_kind="feed")
        only_blog = scope_counts(conn, start=t0, end=NOW, scope_kind="feed",
                                 scope_values=["blog"])
    assert {(p.scope_value, p.bucket_start, p.articles) for p in topics} == {
        ("Energy | Oil", t0, 2), ("Markets", t0 + timedelta(minutes=30), 1),
        ("Markets", t0 + timedelta(minutes=60), 1)}
    assert [(p.scope_value, p.negative) for p in oil] == [("Energy | Oil", 2)]
    assert [(c.scope_value, c.articles, c.negative) for c in feeds] == [
        ("wire", 3, 2), ("blog", 2, 1)]
    assert [(c.scope_value, c.articles) for c in only_blog] == [("blog", 2)]


def test_origin_aligns_buckets_and_unscored_articles_do_not_count(any_engine):
    with any_engine.begin() as conn:
        t0 = _seed(conn)
        pts = sentiment_series(conn, start=t0, end=NOW, bucket_minutes=60,
                               origin=t0 - timedelta(minutes=30))
        total = scope_counts(conn, start=t0, end=NOW)
    assert [(p.bucket_start, p.articles) for p in pts] == [
        (t0 - timedelta(minutes=30), 2), (t0 + timedelta(minutes=30), 3)]
    assert [(c.articles, c.negative) for c in total] == [(5, 3)]


def test_bucket_counts_is_the_lean_form_of_the_series(any_engine):
    with any_engine.begin() as conn:
        t0 = _seed(conn)
        pts = sentiment_series(conn, start=t0, end=NOW, bucket_minutes=30, scope_kind="feed",
                               origin=t0)
        lean = bucket_counts(conn, start=t0, end=NOW, bucket_minutes=30, scope_kind="feed",
                             origin=t0)
    assert sorted(lean) == sorted(
        (p.scope_value, int((p.bucket_start - t0).total_seconds()) // 1800, p.articles,
         p.negative, pytest.approx(p.negative_weight)) for p in pts)
    assert ("wire", 0, 2, 2, pytest.approx(1.4)) in lean


def test_headlines_most_negative_first(any_engine):
    with any_engine.begin() as conn:
        t0 = _seed(conn)
        hl = negative_headlines(conn, start=t0, end=NOW, scope_kind="topic",
                                scope_value="Energy | Oil")
        everything = negative_headlines(conn, start=t0, end=NOW, scope_kind="all",
                                        scope_value="all", limit=2)
    assert [(h.title, h.p_negative) for h in hl] == [("Oil slumps", 0.8), ("Oil falls", 0.6)]
    assert hl[0].link and hl[0].feed == "wire"
    assert [h.title for h in everything] == ["Untopical", "Oil slumps"]


def test_bad_windows_are_refused(engine):
    with engine.begin() as conn:
        with pytest.raises(StoreError, match="not after"):
            scope_counts(conn, start=NOW, end=NOW)
        with pytest.raises(StoreError, match="unknown scope kind"):
            scope_counts(conn, start=NOW - timedelta(hours=1), end=NOW, scope_kind="planet")
