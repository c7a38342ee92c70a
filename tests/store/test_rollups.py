"""Hourly sentiment rollups: kept in step by the store's writers, and the stats read through
them give the raw definition's figures, on a real SQLite file and real PostgreSQL."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Engine

from monitor.store import feeds as F
from monitor.store import rollups, stats
from monitor.store.articles import insert_entries
from monitor.store.schema import articles, sentiment_rollups
from monitor.store.scores import restore_current_scores, save_predictions
from monitor.types import Entry, FeedSpec, Prediction
from tests.conftest import NOW

FEEDS = ("wire-a", "wire-b", "wire-c")
TOPICS = ("Earnings", "Markets", "Energy")
LABELS = ("negative", "neutral", "positive")
HOUR = rollups.floor_hour(NOW)


def _probs(rng: random.Random, *, drop_positive: bool = False) -> tuple[str, dict[str, float]]:
    raw = [rng.random() + 0.05 for _ in LABELS]
    probs = {k: x / sum(raw) for k, x in zip(LABELS, raw, strict=True)}
    label = max(probs, key=lambda k: probs[k])
    if drop_positive and label != "positive":
        del probs["positive"]  # stored as NULL: the definition counts it as 0
    return label, probs


def _add_articles(conn: Connection, rng: random.Random, n: int, *,
                  hours: float = 30.0) -> list[int]:
    """n unscored articles over the `hours` before NOW (odd seconds and microseconds)."""
    ids = []
    for i in range(n):
        feed = F.find_feed(conn, FEEDS[i % len(FEEDS)])
        fid = feed.id if feed else F.add_feed(
            conn, FeedSpec(FEEDS[i % len(FEEDS)], f"https://e.example/{i % len(FEEDS)}"), NOW)
        at = NOW - timedelta(seconds=rng.random() * hours * 3600)
        key = f"{at.isoformat()}-{i}-{rng.random()}"
        digest = hashlib.sha256(key.encode()).hexdigest()
        insert_entries(conn, fid, [Entry(key, None, f"story {key}", "", at, digest)], NOW)
        ids.append(int(conn.execute(select(articles.c.id).where(articles.c.guid == key))
                       .scalar_one()))
    return ids


def _score(conn: Connection, rng: random.Random, ids: Sequence[int], version: str) -> None:
    preds = []
    for k, aid in enumerate(ids):
        label, probs = _probs(rng, drop_positive=k % 11 == 0)
        preds.append(Prediction(aid, "sentiment", version, label, probs))
        if k % 7:  # some articles never get a topic
            topic = TOPICS[rng.randrange(len(TOPICS))]
            preds.append(Prediction(aid, "topic", version, topic, {topic: 0.5 + k % 5 / 10}))
    save_predictions(conn, preds, NOW)


def _same(got: Sequence[Any], want: Sequence[Any]) -> None:
    """Identical rows: same scopes, buckets and counts; floats equal to the last digits."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        gd, wd = vars(g), vars(w)
        assert gd.keys() == wd.keys()
        for k, v in wd.items():
            if isinstance(v, float):
                assert gd[k] == pytest.approx(v, rel=1e-9, abs=1e-12), (k, g, w)
            else:
                assert gd[k] == v, (k, g, w)


WINDOWS = [
    (NOW - timedelta(hours=30, minutes=-17), NOW + timedelta(minutes=7)),  # ragged edges
    (HOUR - timedelta(hours=30), HOUR),                                    # whole hours
    (NOW - timedelta(minutes=50), NOW),                                    # no whole hour
    (NOW - timedelta(days=3), NOW + timedelta(days=1)),                    # wider than data
]
# (minutes, origin): hour multiples on the hour grid use the rollups; sub-hour buckets and
# an origin off the hour grid take the raw path (and must agree all the same).
BUCKETS = [(60, None), (180, HOUR - timedelta(hours=100)), (1440, None), (30, None),
           (60, HOUR - timedelta(hours=100, minutes=-13))]
SCOPES = [("all", None), ("all", ["ignored"]), ("topic", None), ("topic", ["Earnings", "Nope"]),
          ("feed", None), ("feed", ["wire-b", "nope"]), ("topic", [])]


def assert_matches_raw(conn: Connection) -> int:
    """Every served series and total equals the raw computation; returns the points seen."""
    seen = 0
    for start, end in WINDOWS:
        for kind, values in SCOPES:
            for minutes, origin in BUCKETS:
                args: dict[str, Any] = dict(start=start, end=end, bucket_minutes=minutes,
                                            scope_kind=kind, scope_values=values, origin=origin)
                want = stats._raw_sentiment_series(conn, **args)
                _same(stats.sentiment_series(conn, **args), want)
                seen += len(want)
            args = dict(start=start, end=end, scope_kind=kind, scope_values=values)
            _same(stats.scope_counts(conn, **args), stats._raw_scope_counts(conn, **args))
    return seen


def _table(conn: Connection) -> list[tuple[Any, ...]]:
    t = sentiment_rollups.c
    return [tuple(r) for r in conn.execute(select(sentiment_rollups).where(t.articles != 0)
                                           .order_by(t.scope_kind, t.scope_value,
                                                     t.bucket_start))]


def assert_table_matches_rebuild(conn: Connection) -> None:
    """The incrementally kept table equals a rebuild from the articles."""
    kept = _table(conn)
    rollups.rebuild(conn)
    rebuilt = _table(conn)
    assert [r[:5] for r in kept] == [r[:5] for r in rebuilt]
    for a, b in zip(kept, rebuilt, strict=True):
        assert a[5:] == pytest.approx(b[5:], rel=1e-9, abs=1e-12)


@pytest.fixture
def scored(any_engine: Engine) -> tuple[Engine, list[int]]:
    rng = random.Random(7)
    with any_engine.begin() as conn:
        ids = _add_articles(conn, rng, 160)
        _score(conn, rng, ids[:150], "v1")  # the last 10 stay unscored
    return any_engine, ids


def test_scoring_keeps_rollups_equal_to_the_raw_definition(scored) -> None:
    engine, _ = scored
    with engine.begin() as conn:
        assert conn.execute(select(sentiment_rollups)).first() is not None
        assert assert_matches_raw(conn) > 500
        assert_table_matches_rebuild(conn)


def test_rescoring_rollback_and_topic_change_stay_equal(scored) -> None:
    engine, ids = scored
    rng = random.Random(11)
    with engine.begin() as conn:
        _score(conn, rng, ids[::2], "v2")  # a new version re-scores half: current changes
        assert_matches_raw(conn)
        assert_table_matches_rebuild(conn)
    with engine.begin() as conn:
        moved = restore_current_scores(conn, "sentiment", "v1",
                                       published_since=NOW - timedelta(days=2))
        assert moved == len(ids[:150:2])
        moved = restore_current_scores(conn, "topic", "v1",
                                       published_since=NOW - timedelta(days=2))
        assert moved > 0
        assert_matches_raw(conn)
        assert_table_matches_rebuild(conn)
    with engine.begin() as conn:  # topic only: the contribution moves between topics
        save_predictions(conn, [Prediction(a, "topic", "v3", "Crypto", {"Crypto": 0.9})
                                for a in ids[:40]], NOW)
        assert {c.scope_value for c in stats.scope_counts(
            conn, start=NOW - timedelta(days=2), end=NOW, scope_kind="topic")} >= {"Crypto"}
        assert_matches_raw(conn)
        assert_table_matches_rebuild(conn)


def test_feed_removal_subtracts_its_articles(scored) -> None:
    engine, _ = scored
    with engine.begin() as conn:
        fid = F.find_feed(conn, "wire-a").id
        assert F.remove_feed(conn, "wire-a")
        t = sentiment_rollups.c
        left = conn.execute(select(t.articles, t.sum_index, t.negative_mass).where(
            t.scope_kind == "feed", t.scope_value == str(fid))).all()
        assert left and all(tuple(r) == (0, 0.0, 0.0) for r in left)
        feeds_seen = {c.scope_value for c in stats.scope_counts(
            conn, start=NOW - timedelta(days=2), end=NOW, scope_kind="feed")}
        assert feeds_seen == {"wire-b", "wire-c"}
        assert_matches_raw(conn)
        assert_table_matches_rebuild(conn)


def test_one_hour_across_scopes_has_the_hand_computed_sums(any_engine: Engine) -> None:
    at = HOUR - timedelta(hours=3)
    cases = [("wire-a", "Earnings", "negative", {"negative": 0.8, "neutral": 0.1,
                                                 "positive": 0.1}),
             ("wire-b", "Earnings", "positive", {"negative": 0.1, "neutral": 0.2,
                                                 "positive": 0.7}),
             ("wire-a", "Markets", "neutral", {"negative": 0.2, "neutral": 0.6,
                                               "positive": 0.2}),
             ("wire-b", None, None, {})]  # unscored: counts nowhere
    with any_engine.begin() as conn:
        preds = []
        for i, (feed, topic, label, probs) in enumerate(cases):
            fid = (F.find_feed(conn, feed) or F.get_feed(conn, F.add_feed(
                conn, FeedSpec(feed, f"https://e.example/{feed}"), NOW))).id
            insert_entries(conn, fid, [Entry(f"g{i}", None, f"t{i}", "",
                                             at + timedelta(minutes=10 * i, seconds=i), f"h{i}")],
                           NOW)
            if label:
                preds.append(Prediction(i + 1, "sentiment", "v1", label, probs))
                preds.append(Prediction(i + 1, "topic", "v1", topic, {topic: 0.9}))
        save_predictions(conn, preds, NOW)
        ids = {F.find_feed(conn, f).id for f in ("wire-a", "wire-b")}
        assert ids == {1, 2}
        got = {(r.scope_kind, r.scope_value): r[3:] for r in conn.execute(
            select(sentiment_rollups).where(sentiment_rollups.c.bucket_start == at))}
        want = {("all", "all"): (3, 1, -0.1, 0.8, 1.1),
                ("topic", "Earnings"): (2, 1, -0.1, 0.8, 0.9),
                ("topic", "Markets"): (1, 0, 0.0, 0.0, 0.2),
                ("feed", "1"): (2, 1, -0.7, 0.8, 1.0),
                ("feed", "2"): (1, 0, 0.6, 0.0, 0.1)}
        assert got.keys() == want.keys()
        for key, sums in want.items():
            assert got[key] == pytest.approx(sums, abs=1e-12), key
        [point] = stats.sentiment_series(conn, start=at, end=at + timedelta(hours=1),
                                         bucket_minutes=60)
        assert (point.articles, point.negative) == (3, 1)
        assert point.sentiment_index == pytest.approx(-0.1 / 3)


def test_series_reads_whole_hours_from_the_rollups(scored) -> None:
    """The fast path really reads the table: a (deliberately) wrong row shows up in it."""
    engine, _ = scored
    start, end = HOUR - timedelta(hours=30), HOUR
    with engine.begin() as conn:
        raw = stats._raw_scope_counts(conn, start=start, end=end)
        t = sentiment_rollups.c
        conn.execute(update(sentiment_rollups).where(
            t.scope_kind == "all", t.bucket_start == HOUR - timedelta(hours=5))
            .values(articles=t.articles + 1000))
        [served] = stats.scope_counts(conn, start=start, end=end)
        assert served.articles == raw[0].articles + 1000
        # Sub-hour buckets are computed from the articles alone.
        assert sum(p.articles for p in stats.sentiment_series(
            conn, start=start, end=end, bucket_minutes=30)) == raw[0].articles
        rollups.rebuild(conn)  # the repair
        assert rollups.rebuild(conn) == len(_table(conn))  # idempotent
        assert stats.scope_counts(conn, start=start, end=end)[0].articles == raw[0].articles


def test_rebuild_backfills_articles_written_around_the_store(any_engine: Engine) -> None:
    rng = random.Random(3)
    with any_engine.begin() as conn:
        ids = _add_articles(conn, rng, 40)
        # A bulk load that bypasses the scoring path: the table knows nothing of it...
        conn.execute(update(articles).where(articles.c.id.in_(ids)).values(
            sentiment="negative", sentiment_confidence=0.7, p_negative=0.7, p_neutral=0.2,
            p_positive=0.1, topic="Markets"))
        assert conn.execute(select(sentiment_rollups)).first() is None
        # ...until the backfill.
        assert rollups.rebuild(conn) > 0
        assert_matches_raw(conn)
        [count] = stats.scope_counts(conn, start=NOW - timedelta(days=2), end=NOW)
        assert (count.articles, count.negative) == (40, 40)


def test_cli_rebuild_rollups(tmp_path) -> None:
    from tests.cli.cli_helpers import invoke

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    from monitor.store.engine import open_store

    engine = open_store(url)
    with engine.begin() as conn:
        ids = _add_articles(conn, random.Random(5), 12)
        conn.execute(update(articles).where(articles.c.id.in_(ids)).values(
            sentiment="neutral", p_negative=0.2, p_neutral=0.6, p_positive=0.2))
    result = invoke(["--config", str(cfg), "db", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    with engine.connect() as conn:
        [count] = stats.scope_counts(conn, start=NOW - timedelta(days=2), end=NOW)
        assert count.articles == 12
    engine.dispose()
