"""score_pending with a shared encoder: both tasks from one pass, the share_encoder switch,
falling back to separate classifiers and back, and a backlog larger than the memo."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.scoring import registry
from monitor.scoring.artifact import load_version
from monitor.scoring.classifier import TorchClassifier
from monitor.scoring.job import score_pending
from monitor.scoring.model_cache import ModelCache
from monitor.scoring.onnx_cache import ONNX_DIR
from monitor.scoring.shared import SharedView, make_shared_pair
from monitor.store.schema import articles, scores
from monitor.text import model_input
from tests.conftest import NOW
from tests.scoring.conftest import MakePair
from tests.scoring.helpers import MakeVersion, add_articles, hours_ago
from tests.scoring.helpers import cpu_config as _cfg


def _rows(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.guid: dict(r._mapping) for r in conn.execute(select(articles))}


def _versions_scored(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(scores.c.task, scores.c.model_version))}


def _current(cache: ModelCache, engine: Engine, config: Config, task: str) -> object:
    active = registry.active_info(engine, task)
    assert active is not None
    return cache.get(active, config, NOW)


def test_job_scores_both_tasks_with_one_pass(engine: Engine, config: Config,
                                             make_pair: MakePair,
                                             caplog: pytest.LogCaptureFixture) -> None:
    s, t = make_pair()
    registry.register_version(engine, config, s, now=NOW)
    registry.register_version(engine, config, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2, 3, 50, 0.5, 7))
    cache = ModelCache()
    with caplog.at_level("INFO", logger="monitor.scoring.model_cache"):
        report = score_pending(engine, config, NOW, loader=cache)
    assert report.errors == {}
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (6, "torch-cpu-shared"), "topic": (6, "torch-cpu-shared")}
    assert any("torch-cpu-shared" in r.getMessage() for r in caplog.records)
    view = _current(cache, engine, config, "sentiment")
    assert isinstance(view, SharedView) and view.pair.texts_encoded == 6  # once per article
    assert _versions_scored(engine) == {("sentiment", "s1"), ("topic", "t1")}
    rows = _rows(engine)
    texts = [model_input(r["title"], r["summary"]) for r in rows.values()]
    sep = {f.parent.name: TorchClassifier(load_version(f), batch_size=4).predict_proba(texts)
           for f in (s, t)}
    for row, p_sent, p_top in zip(rows.values(), sep["sentiment"], sep["topic"], strict=True):
        assert (row["sentiment_version"], row["topic_version"]) == ("s1", "t1")
        assert row["p_negative"] == pytest.approx(p_sent["negative"], abs=1e-5)
        assert row["topic"] == max(p_top, key=p_top.__getitem__)
    # Nothing pending: the cached pair is reused, nothing reloaded or re-run.
    again = score_pending(engine, config, NOW + timedelta(minutes=1), loader=cache)
    assert again.scored == 0 and _current(cache, engine, config, "sentiment") is view


def test_share_encoder_off_scores_separately(engine: Engine, tmp_path: Path,
                                             registry_dir: Path, make_pair: MakePair) -> None:
    cfg = _cfg(tmp_path, registry_dir, share_encoder=False)
    s, t = make_pair()
    registry.register_version(engine, cfg, s, now=NOW)
    registry.register_version(engine, cfg, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2))
    report = score_pending(engine, cfg, NOW, loader=ModelCache())
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (2, "torch-cpu"), "topic": (2, "torch-cpu")}


def test_activating_a_non_sharing_version_falls_back_and_still_scores(
        engine: Engine, config: Config, make_pair: MakePair,
        make_version: MakeVersion) -> None:
    s, t = make_pair()
    registry.register_version(engine, config, s, now=NOW)
    registry.register_version(engine, config, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2, 3))
    cache = ModelCache()
    first = score_pending(engine, config, NOW, loader=cache)
    assert {r.backend for r in first.tasks} == {"torch-cpu-shared"}

    later = NOW + timedelta(minutes=5)
    registry.register_version(engine, config, make_version("topic", "t-lone", seed=3), now=later)
    registry.activate(engine, "topic", "t-lone", now=later)
    add_articles(engine, "b", [later])
    report = score_pending(engine, config, later + timedelta(minutes=1), loader=cache)
    assert report.errors == {}
    by_task = {r.task: r for r in report.tasks}
    assert by_task["sentiment"].backend == "torch-cpu" and by_task["sentiment"].scored == 1
    assert by_task["topic"].backend == "torch-cpu" and by_task["topic"].version == "t-lone"
    assert by_task["topic"].scored == 1 and by_task["topic"].rescored == 3
    for task in ("sentiment", "topic"):  # the pair's views were dropped
        assert not isinstance(_current(cache, engine, config, task), SharedView)
    assert {r["topic_version"] for r in _rows(engine).values()} == {"t-lone"}

    # Back to a sharing topic version: the pair is rebuilt.
    registry.activate(engine, "topic", "t1", now=later + timedelta(minutes=2))
    report = score_pending(engine, config, later + timedelta(minutes=3), loader=cache)
    assert {r.backend for r in report.tasks} == {"torch-cpu-shared"}
    assert report.errors == {}


def test_unbuildable_shared_graph_falls_back_to_separate_classifiers(
        engine: Engine, tmp_path: Path, registry_dir: Path, make_pair: MakePair) -> None:
    cfg = _cfg(tmp_path, registry_dir, cpu_int8=True)
    s, t = make_pair()
    (s / ONNX_DIR).write_text("a file where the cache folder should be", encoding="utf-8")
    registry.register_version(engine, cfg, s, now=NOW)
    registry.register_version(engine, cfg, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2))
    report = score_pending(engine, cfg, NOW, loader=ModelCache())
    assert report.errors == {}
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (2, "torch-cpu"), "topic": (2, "onnx-int8")}


def test_a_backlog_larger_than_the_memo_is_still_encoded_once(engine: Engine, config: Config,
                                                              make_pair: MakePair) -> None:
    s, t = make_pair()
    registry.register_version(engine, config, s, now=NOW)
    registry.register_version(engine, config, t, now=NOW)
    add_articles(engine, "a", hours_ago(*range(1, 21)))

    def small_memo(models, cfg):  # type: ignore[no-untyped-def]
        pair = make_shared_pair(models, cfg)
        assert pair is not None
        pair.memo_size = 4
        return pair.views()

    cache = ModelCache(build_pair=small_memo)
    report = score_pending(engine, config, NOW, loader=cache, round_articles=4)
    assert {r.task: r.scored for r in report.tasks} == {"sentiment": 20, "topic": 20}
    view = _current(cache, engine, config, "sentiment")
    assert isinstance(view, SharedView) and view.pair.texts_encoded == 20
    # The same backlog in one round per task: the memo overflows, topic re-encodes.
    add_articles(engine, "b", hours_ago(*range(1, 21)))
    score_pending(engine, config, NOW, loader=cache, round_articles=1_000)
    assert view.pair.texts_encoded == 20 + 20 + 16

