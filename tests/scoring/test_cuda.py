"""Scoring on a CUDA GPU: autocast classifiers, the shared-encoder pass and the scoring job.
Skipped (with the reason) where torch sees no GPU; benchmarks/device_check.sh runs them on a
lent GPU machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.scoring import registry
from monitor.scoring.artifact import load_version
from monitor.scoring.classifier import TorchClassifier, make_classifier
from monitor.scoring.job import score_pending
from monitor.scoring.model_cache import ModelCache
from monitor.scoring.shared import make_shared_pair
from monitor.store.schema import scores
from tests.conftest import NOW, make_config
from tests.scoring.conftest import MakePair
from tests.scoring.helpers import HEADLINES, add_articles, hours_ago

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU (torch.cuda.is_available() is False)")]

TEXTS = [*HEADLINES, "", "gold", HEADLINES[4] * 3]
BF16_TOLERANCE = 0.05  # bf16 keeps 8 mantissa bits: probabilities agree to a few hundredths


def _gpu_config(tmp_path: Path, registry_dir: Path) -> Config:
    return make_config(tmp_path, model={"registry_dir": str(registry_dir), "device": "auto",
                                        "batch_size": 4, "gpu_batch_size": 6,
                                        "rescore_window_hours": 24})


def _close(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    assert [list(x) for x in a] == [list(y) for y in b]
    return max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x)


def test_auto_device_scores_on_the_gpu_with_bf16_autocast(
        make_version, tmp_path: Path, registry_dir: Path) -> None:  # type: ignore[no-untyped-def]
    folder = make_version("topic")
    clf = make_classifier(load_version(folder), _gpu_config(tmp_path, registry_dir))
    assert isinstance(clf, TorchClassifier) and clf.backend == "torch-cuda-bfloat16"
    assert clf.batch_size == 6  # [model] gpu_batch_size, not the CPU's batch_size
    got = clf.predict_proba(TEXTS)
    ref = TorchClassifier(load_version(folder), batch_size=4).predict_proba(TEXTS)
    assert _close(got, ref) < BF16_TOLERANCE
    assert all(abs(sum(p.values()) - 1.0) < 1e-3 for p in got)


def test_shared_encoder_pass_on_the_gpu_matches_separate_cpu_models(
        make_pair: MakePair, tmp_path: Path, registry_dir: Path) -> None:
    folders = make_pair()
    pair = make_shared_pair([load_version(f) for f in folders],
                            _gpu_config(tmp_path, registry_dir))
    assert pair is not None and pair.backend == "torch-cuda-bfloat16-shared"
    assert pair.batch_size == 6
    views = pair.views()
    for folder in folders:
        loaded = load_version(folder)
        ref = TorchClassifier(loaded, batch_size=4).predict_proba(TEXTS)
        assert _close(views[loaded.task].predict_proba(TEXTS), ref) < BF16_TOLERANCE
    assert pair.texts_encoded == len(TEXTS)  # the second task came from the memo


def test_scoring_job_on_the_gpu_stores_both_tasks_with_their_versions(
        engine: Engine, make_pair: MakePair, tmp_path: Path, registry_dir: Path) -> None:
    config = _gpu_config(tmp_path, registry_dir)
    for folder in make_pair():
        registry.register_version(engine, config, folder, now=NOW)
    add_articles(engine, "g", hours_ago(1, 2, 3, 4, 5))
    report = score_pending(engine, config, NOW, loader=ModelCache())
    assert report.errors == {}
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (5, "torch-cuda-bfloat16-shared"), "topic": (5, "torch-cuda-bfloat16-shared")}
    with engine.connect() as conn:
        rows = conn.execute(select(scores.c.task, scores.c.model_version)).all()
    assert sorted(set(rows)) == [("sentiment", "s1"), ("topic", "t1")] and len(rows) == 10
