"""The score job on a real SQLite store: round trip, idempotence, corrupt models, new versions."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.scoring import registry
from monitor.scoring.job import score_pending
from monitor.scoring.model_cache import ModelCache
from monitor.store.schema import articles, scores
from tests.conftest import NOW, make_config
from tests.scoring.helpers import MakeVersion, add_articles, hours_ago


def _articles(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.guid: dict(r._mapping) for r in conn.execute(select(articles))}


def _score_rows(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        q = (select(articles.c.guid, scores.c.task, scores.c.model_version)
             .join(articles, articles.c.id == scores.c.article_id).order_by(scores.c.id))
        return [tuple(r) for r in conn.execute(q)]


def _count_scores(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(scores)).scalar_one())


def test_round_trip_scores_every_article_for_both_tasks(engine: Engine, config: Config,
                                                        make_version: MakeVersion) -> None:
    registry.register_version(engine, config, make_version("sentiment", "s1"), now=NOW)
    registry.register_version(engine, config, make_version("topic", "t1"), now=NOW)
    add_articles(engine, "a", hours_ago(1, 2, 3, 50, 100, 0.5, 7))
    report = score_pending(engine, config, NOW, loader=ModelCache())
    assert report.errors == {}
    assert {t.task: t.scored for t in report.tasks} == {"sentiment": 7, "topic": 7}
    for row in _articles(engine).values():
        assert row["sentiment"] in {"negative", "neutral", "positive"}
        assert row["sentiment_version"] == "s1" and row["topic_version"] == "t1"
        assert row["topic"] in config.model.topics
        total = row["p_negative"] + row["p_neutral"] + row["p_positive"]
        assert total == pytest.approx(1.0, abs=1e-6)
        assert row["sentiment_confidence"] == pytest.approx(
            max(row["p_negative"], row["p_neutral"], row["p_positive"]))
    with engine.connect() as conn:
        topic_probs = conn.execute(select(scores.c.probs).where(scores.c.task == "topic")).first()
    assert topic_probs is not None and len(topic_probs[0]) == 20
    assert _count_scores(engine) == 14


def test_scoring_is_idempotent(engine: Engine, config: Config,
                               make_version: MakeVersion) -> None:
    registry.register_version(engine, config, make_version("sentiment", "s1"), now=NOW)
    add_articles(engine, "a", hours_ago(*range(10)))
    cache = ModelCache()
    first = score_pending(engine, config, NOW, loader=cache, tasks=("sentiment",))
    before = _articles(engine)
    again = score_pending(engine, config, NOW + timedelta(minutes=1), loader=cache,
                          tasks=("sentiment",))
    assert first.scored == 10 and again.scored == 0
    assert _articles(engine) == before and _count_scores(engine) == 10


def test_max_articles_bounds_one_run(engine: Engine, config: Config,
                                     make_version: MakeVersion) -> None:
    registry.register_version(engine, config, make_version("sentiment", "s1"), now=NOW)
    add_articles(engine, "a", hours_ago(*range(9)))
    cache = ModelCache()
    assert score_pending(engine, config, NOW, loader=cache, tasks=("sentiment",),
                         max_articles=4).scored == 4
    assert score_pending(engine, config, NOW, loader=cache, tasks=("sentiment",)).scored == 5


def test_no_active_version_leaves_articles_waiting(engine: Engine, config: Config,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    add_articles(engine, "a", hours_ago(1, 2))
    cache = ModelCache()
    with caplog.at_level(logging.WARNING, logger="monitor.scoring.model_cache"):
        report = score_pending(engine, config, NOW, loader=cache)
        score_pending(engine, config, NOW, loader=cache)
    assert report.scored == 0 and set(report.errors) == {"sentiment", "topic"}
    told = [r.getMessage() for r in caplog.records if "no active sentiment model" in
            r.getMessage()]
    assert len(told) == 1 and "finsentinel bootstrap" in told[0]  # logged once, says how
    assert all(r["sentiment"] is None for r in _articles(engine).values())


def test_corrupt_active_model_keeps_ingestion_running_until_a_good_one_is_activated(
        engine: Engine, config: Config, make_version: MakeVersion,
        caplog: pytest.LogCaptureFixture) -> None:
    bad = make_version("sentiment", "s-bad")
    registry.register_version(engine, config, bad, now=NOW)
    weights = bad / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # a flipped byte after activation: disk rot, a bad copy
    weights.write_bytes(bytes(data))
    add_articles(engine, "a", hours_ago(1, 2, 3))
    cache = ModelCache()
    with caplog.at_level(logging.ERROR, logger="monitor.scoring.model_cache"):
        first = score_pending(engine, config, NOW, loader=cache, tasks=("sentiment",))
        # Ingestion goes on meanwhile; the job keeps returning normally.
        assert add_articles(engine, "b", hours_ago(0.5, 0.2)) == 2
        second = score_pending(engine, config, NOW + timedelta(seconds=20), loader=cache,
                               tasks=("sentiment",))
    for report in (first, second):
        assert report.scored == 0
        assert "sha256" in report.errors["sentiment"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # once per version, not every run
    assert "s-bad" in errors[0] and "model.safetensors" in errors[0]
    assert all(r["sentiment"] is None for r in _articles(engine).values())

    registry.register_version(engine, config, make_version("sentiment", "s-good", seed=1),
                              now=NOW + timedelta(minutes=1))
    registry.activate(engine, "sentiment", "s-good", now=NOW + timedelta(minutes=1))
    report = score_pending(engine, config, NOW + timedelta(minutes=2), loader=cache,
                           tasks=("sentiment",))
    assert report.errors == {} and report.scored == 5
    assert {r["sentiment_version"] for r in _articles(engine).values()} == {"s-good"}


def test_new_version_rescores_the_window_and_keeps_old_scores(
        engine: Engine, config: Config, make_version: MakeVersion) -> None:
    registry.register_version(engine, config, make_version("sentiment", "s1", seed=0), now=NOW)
    add_articles(engine, "in", hours_ago(1, 5, 23))  # within 24 h of the next activation
    add_articles(engine, "old", hours_ago(30, 72))  # outside the window
    cache = ModelCache()
    assert score_pending(engine, config, NOW, loader=cache).tasks[0].scored == 5
    v1_rows = {g: (r["sentiment"], r["p_negative"]) for g, r in _articles(engine).items()}

    registry.register_version(engine, config, make_version("sentiment", "s2", seed=7), now=NOW)
    registry.activate(engine, "sentiment", "s2", now=NOW)  # picked up without a restart
    report = score_pending(engine, config, NOW + timedelta(minutes=1), loader=cache,
                           tasks=("sentiment",))
    assert report.tasks[0].version == "s2" and report.tasks[0].rescored == 3
    rows = _articles(engine)
    for guid in ("in-0", "in-1", "in-2"):
        assert rows[guid]["sentiment_version"] == "s2"
    for guid in ("old-0", "old-1"):
        assert rows[guid]["sentiment_version"] == "s1"
        assert (rows[guid]["sentiment"], rows[guid]["p_negative"]) == v1_rows[guid]
    history = _score_rows(engine)
    assert history.count(("in-0", "sentiment", "s1")) == 1  # old scores stay
    assert history.count(("in-0", "sentiment", "s2")) == 1
    assert ("old-0", "sentiment", "s2") not in history
    assert any(rows[g]["p_negative"] != v1_rows[g][1] for g in ("in-0", "in-1", "in-2"))

    # New articles after the switch are scored by s2 only.
    add_articles(engine, "new", [NOW + timedelta(minutes=5)])
    score_pending(engine, config, NOW + timedelta(minutes=6), loader=cache, tasks=("sentiment",))
    assert [h for h in _score_rows(engine) if h[0] == "new-0"] == [("new-0", "sentiment", "s2")]

    # Rollback: the window's current scores move back to s1's stored rows, no new s1 rows
    # for articles it already scored; articles it never saw get scored by it.
    registry.rollback(engine, "sentiment", now=NOW + timedelta(minutes=10))
    before = _count_scores(engine)
    report = score_pending(engine, config, NOW + timedelta(minutes=11), loader=cache,
                           tasks=("sentiment",))
    assert report.tasks[0].restored == 3 and report.tasks[0].rescored == 1
    assert _count_scores(engine) == before + 1
    rows = _articles(engine)
    assert {r["sentiment_version"] for r in rows.values()} == {"s1"}
    for guid, (label, p_neg) in v1_rows.items():
        assert (rows[guid]["sentiment"], rows[guid]["p_negative"]) == (label, p_neg)


def test_int8_onnx_path_scores_through_the_job(engine: Engine, tmp_path: Path,
                                               make_version: MakeVersion) -> None:
    cfg = make_config(tmp_path, model={"registry_dir": str(tmp_path / "models"),
                                       "device": "cpu", "cpu_int8": True})
    registry.register_version(engine, cfg, make_version("topic", "t1"), now=NOW)
    add_articles(engine, "a", hours_ago(1, 2, 3))
    report = score_pending(engine, cfg, NOW, loader=ModelCache(), tasks=("topic",))
    assert report.tasks[0].backend == "onnx-int8" and report.tasks[0].scored == 3
    assert {r["topic_version"] for r in _articles(engine).values()} == {"t1"}


def test_sentiment_model_with_foreign_labels_is_refused(engine: Engine, config: Config,
                                                        make_version: MakeVersion) -> None:
    folder = make_version("sentiment", "s-odd", labels=("bearish", "neutral", "bullish"))
    registry.register_version(engine, config, folder, now=NOW)
    add_articles(engine, "a", hours_ago(1))
    report = score_pending(engine, config, NOW, loader=ModelCache(), tasks=("sentiment",))
    assert "must use exactly ['negative', 'neutral', 'positive']" in report.errors["sentiment"]
    assert all(r["sentiment"] is None for r in _articles(engine).values())
