"""train_version on a tiny random BERT: version folder, card, registry, load round trip,
reproducibility with a seed, and refused data and parameters."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from training_helpers import FAST, sentiment_rows, write_csv

from monitor.config import Config
from monitor.errors import DataError, ModelError
from monitor.scoring import registry
from monitor.scoring.artifact import load_version
from monitor.scoring.base_model import sha256_file
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW
from training.data import load_labelled
from training.evaluate import evaluate_examples
from training.train import TrainParams, train_version


def _data(tmp_path: Path, name: str = "train.csv"):  # type: ignore[no-untyped-def]
    f = write_csv(tmp_path / name, sentiment_rows(12))
    return f, load_labelled([f], "sentiment", SENTIMENT_LABELS)


def test_train_saves_registers_and_loads_a_version(config: Config, engine, tmp_path: Path,
                                                   tiny_base: Path) -> None:
    f, data = _data(tmp_path)
    out = train_version(config, engine, data, FAST, now=NOW, progress=False)
    assert out.active and registry.active_version(engine, "sentiment") == out.version
    assert out.folder == registry.version_dir(config, "sentiment", out.version)
    assert (out.folder / "model.safetensors").is_file()
    assert not list(out.folder.glob("*.bin"))
    card = json.loads((out.folder / "card.json").read_text("utf-8"))
    assert card["task"] == "sentiment" and card["labels"] == list(SENTIMENT_LABELS)
    assert card["base_model"]["sha256"] == sha256_file(tiny_base / "model.safetensors")
    assert card["data"] == [{"path": str(f), "sha256": sha256_file(f), "rows": 36}]
    assert card["examples"]["train"] + card["examples"]["validation"] == 36
    assert card["examples"]["validation"] == 9
    assert card["hyperparameters"]["lr"] == FAST.lr and card["max_length"] == 16
    assert set(card["metrics"]) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert len(card["metrics"]["confusion_matrix"]["matrix"]) == 3
    assert card["created_at"] == NOW.isoformat() and card["training_seconds"] >= 0
    assert 1 <= card["best_epoch"] <= 3 and card["project_version"]

    loaded = load_version(out.folder)
    assert loaded.labels == SENTIMENT_LABELS and loaded.version == out.version
    texts = [e.text for e in data.examples]
    m = evaluate_examples(loaded.model, loaded.tokenizer, texts,
                          [e.label for e in data.examples], loaded.labels, max_length=16)
    assert m["n"] == 36 and 0.0 <= m["accuracy"] <= 1.0

    # A second version is registered but waits for `finsentinel models activate`.
    second = train_version(config, engine, data, FAST, now=NOW.replace(minute=31),
                           progress=False)
    assert not second.active and registry.active_version(engine, "sentiment") == out.version


def test_training_is_reproducible_with_a_seed(config: Config, engine, tmp_path: Path) -> None:
    _, data = _data(tmp_path)
    a = train_version(config, engine, data, FAST, now=NOW, progress=False)
    b = train_version(config, engine, data, FAST, now=NOW.replace(second=1), progress=False)
    assert a.card["history"] == b.card["history"]
    assert sha256_file(a.folder / "model.safetensors") == \
        sha256_file(b.folder / "model.safetensors")


def test_too_few_examples_and_bad_params_are_refused(config: Config, engine,
                                                     tmp_path: Path) -> None:
    f = write_csv(tmp_path / "few.csv", [("up", "positive"), ("down", "negative"),
                                         ("flat", "neutral")])
    data = load_labelled([f], "sentiment", SENTIMENT_LABELS)
    with pytest.raises(DataError, match="needs at least 4"):
        train_version(config, engine, data, FAST, now=NOW, progress=False)
    _, ok = _data(tmp_path)
    with pytest.raises(DataError, match="--epochs must be at least 1"):
        train_version(config, engine, ok, TrainParams(epochs=0), now=NOW, progress=False)
    with pytest.raises(DataError, match=r"label smoothing .* must be in \[0, 1\)"):
        train_version(config, engine, ok, replace(FAST, label_smoothing=1.0), now=NOW,
                      progress=False)
    with pytest.raises(DataError, match=r"layer decay .* must be in \(0, 1\]"):
        train_version(config, engine, ok, replace(FAST, layer_decay=0.0), now=NOW,
                      progress=False)
    with pytest.raises(DataError, match=r"warm-up ratio .* must be in \[0, 1\), got 1.0"):
        train_version(config, engine, ok, replace(FAST, warmup_ratio=1.0), now=NOW,
                      progress=False)
    with pytest.raises(DataError, match="weight decay .* must be 0 or positive, got -0.1"):
        train_version(config, engine, ok, replace(FAST, weight_decay=-0.1), now=NOW,
                      progress=False)
    with pytest.raises(ModelError, match="not a folder"):
        train_version(config, engine, ok, FAST, now=NOW, base_model="./no/such/dir",
                      progress=False)

