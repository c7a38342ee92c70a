"""Domain adaptation (masked-LM on unlabelled text): the saved base, its card, its use as a
base for training, and the refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from training_helpers import sentiment_rows, write_cli_config, write_csv

from monitor.cli import cli
from monitor.errors import DataError
from monitor.scoring.base_model import (
    load_base_for_classification,
    resolve_base_model,
    sha256_file,
)
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW
from training.adapt import CARD, MIN_TEXTS, AdaptParams, adapt
from training.data import Example
from training.train import TrainParams, fit

FAST = AdaptParams(epochs=3, lr=5e-3, batch_size=16, max_length=16)
TEXTS = [text for text, _ in sentiment_rows(40)]  # 120 distinct texts


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_adapt_learns_and_saves_a_base_that_trains(tiny_base: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapted"
    done = adapt(resolve_base_model(str(tiny_base)), TEXTS, out, FAST, now=NOW,
                 progress=False)
    assert done.folder == out and done.texts == len(TEXTS) and done.device == "cpu"
    # It learns: the masked-LM loss falls (the tiny model on 120 texts: about 13 %).
    assert len(done.losses) == 3 and done.losses[-1] < 0.95 * done.losses[0], done.losses
    card = json.loads((out / CARD).read_text("utf-8"))
    assert card["adapted_from"]["sha256"] == sha256_file(tiny_base / "model.safetensors")
    assert card["texts"] == len(TEXTS) and card["hyperparameters"]["epochs"] == 3
    assert card["weights_sha256"] == sha256_file(out / "model.safetensors")
    assert card["created_at"] == NOW.isoformat()
    assert (out / "vocab.txt").is_file()  # beside tokenizer.json, for WordPiece tools

    before, after = _tensors(tiny_base), _tensors(out)
    assert set(after) == set(before)  # an encoder like the base: no masked-LM head saved
    # Masked-LM does not train the pooler: the base's own is kept, the encoder moved.
    assert all((after[k] == before[k]).all() for k in before if k.startswith("pooler."))
    moved = [k for k in before if k.startswith("encoder.") and not (after[k] == before[k]).all()]
    assert len(moved) > 10

    # The folder is an ordinary base model: classification loads and fine-tunes from it.
    model, tokenizer = load_base_for_classification(resolve_base_model(str(out)),
                                                    SENTIMENT_LABELS, seed=1)
    rows = [Example(t, label, "t.csv", i) for i, (t, label) in enumerate(sentiment_rows(8))]
    result = fit(model, tokenizer, rows[::2], rows[1::2], SENTIMENT_LABELS,
                 TrainParams(epochs=1, batch_size=8, max_length=16), progress=False)
    assert result.best_epoch == 1 and 0.0 <= result.metrics["accuracy"] <= 1.0


def test_adapt_refuses_bad_input_and_keeps_an_existing_folder(tiny_base: Path,
                                                              tmp_path: Path) -> None:
    base = resolve_base_model(str(tiny_base))
    with pytest.raises(DataError, match=f"at least {MIN_TEXTS} distinct texts, got 20"):
        adapt(base, TEXTS[:20], tmp_path / "a", FAST, now=NOW, progress=False)
    with pytest.raises(DataError, match="--epochs must be at least 1"):
        adapt(base, TEXTS, tmp_path / "a", replace(FAST, epochs=0), now=NOW, progress=False)
    with pytest.raises(DataError, match="--threads must be at least 1, got 0"):
        adapt(base, TEXTS, tmp_path / "a", replace(FAST, threads=0), now=NOW, progress=False)
    with pytest.raises(DataError, match=r"--mask-probability must be in \(0, 1\)"):
        adapt(base, TEXTS, tmp_path / "a", replace(FAST, mask_probability=1.0), now=NOW,
              progress=False)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DataError, match="exists and is not empty; name a new folder"):
        adapt(base, TEXTS, taken, FAST, now=NOW, progress=False)
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "a").exists()


def test_cli_adapt_then_train_on_the_adapted_base(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    texts = write_csv(tmp_path / "texts.csv", [(t,) for t in TEXTS], header=("text",))
    out = tmp_path / "adapted"
    res = CliRunner().invoke(cli, ["--config", str(cfg), "adapt", "--data", str(texts),
                                   "--out", str(out), "--epochs", "1", "--batch-size", "16",
                                   "--max-length", "16", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert f"on {len(TEXTS)} texts" in res.output and str(out) in res.output
    hp = json.loads((out / CARD).read_text("utf-8"))["hyperparameters"]
    assert (hp["threads"], hp["epochs"], hp["batch_size"], hp["device"]) == (1, 1, 16, "cpu")

    rows = write_csv(tmp_path / "train.csv", sentiment_rows(12))
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(rows), "--base-model", str(out), "--epochs",
                                   "1", "--max-length", "16"])
    assert res.exit_code == 0, res.output
    card = json.loads(next((tmp_path / "models" / "sentiment").glob("*/card.json")).read_text(
        "utf-8"))
    assert card["base_model"]["sha256"] == sha256_file(out / "model.safetensors")

    again = CliRunner().invoke(cli, ["--config", str(cfg), "adapt", "--data", str(texts),
                                     "--out", str(out)])
    assert again.exit_code == 1 and "exists and is not empty" in again.output


def test_batches_with_nothing_masked_are_skipped_not_learned_as_nan(tiny_base: Path,
                                                                    tmp_path: Path) -> None:
    import torch

    # Two or three tokens per text and a 1 % mask rate: most batches mask nothing, and the
    # mean loss over no masked token is NaN, which would poison every weight.
    texts = [f"acme {i} {i % 7}" for i in range(120)]
    done = adapt(resolve_base_model(str(tiny_base)), texts, tmp_path / "a",
                 replace(FAST, epochs=2, mask_probability=0.01), now=NOW, progress=False)
    assert all(x == x for x in done.losses), done.losses
    assert all(bool(torch.isfinite(t).all()) for t in _tensors(done.folder).values()
               if t.is_floating_point())
