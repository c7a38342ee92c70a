"""The real packaged base (all-MiniLM-L6-v2, sha256 checked) through save -> register -> score."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.scoring import registry
from monitor.scoring.artifact import load_version, save_version
from monitor.scoring.base_model import PACKAGED_SHA256, resolve_base_model
from monitor.scoring.classifier import TorchClassifier
from monitor.scoring.job import score_pending
from monitor.scoring.model_cache import ModelCache
from monitor.store.schema import articles
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW, make_config
from tests.scoring.helpers import HEADLINES, add_articles, hours_ago


@pytest.mark.slow
def test_packaged_base_version_scores_with_int8_onnx(engine: Engine, tmp_path: Path) -> None:
    from monitor.scoring.base_model import load_base_for_classification

    base = resolve_base_model("packaged")
    assert base.sha256 == PACKAGED_SHA256
    model, tokenizer = load_base_for_classification(base, SENTIMENT_LABELS)
    config = make_config(tmp_path, model={"registry_dir": str(tmp_path / "models"),
                                          "device": "cpu", "cpu_int8": True})
    folder = save_version(model, tokenizer,
                          {"task": "sentiment", "base_model": {"name": base.name,
                                                               "sha256": base.sha256}},
                          registry.version_dir(config, "sentiment", "s-minilm"))
    assert registry.register_version(engine, config, folder, now=NOW) == "s-minilm"
    add_articles(engine, "a", hours_ago(*range(12)))

    report = score_pending(engine, config, NOW, loader=ModelCache(), tasks=("sentiment",))
    assert report.errors == {} and report.tasks[0].backend == "onnx-int8"
    assert report.tasks[0].scored == 12
    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.sentiment, articles.c.sentiment_version)).all()
    assert {r.sentiment_version for r in rows} == {"s-minilm"}
    assert {r.sentiment for r in rows} <= set(SENTIMENT_LABELS)

    # int8 stays close to fp32 on the real encoder (random head: small margins, so compare
    # probabilities rather than labels).
    from monitor.scoring.classifier import OnnxClassifier

    loaded = load_version(folder)
    fp32 = TorchClassifier(loaded, batch_size=8).predict_proba(list(HEADLINES))
    int8 = OnnxClassifier(folder / "onnx" / "model-int8.onnx", tokenizer=loaded.tokenizer,
                          labels=loaded.labels, version=loaded.version, task=loaded.task,
                          batch_size=8).predict_proba(list(HEADLINES))
    drift = max(abs(a[k] - b[k]) for a, b in zip(fp32, int8, strict=True) for k in a)
    assert drift < 0.1, f"int8 drifts {drift:.3f} from fp32 on the packaged base"
