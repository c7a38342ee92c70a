"""Training on a CUDA GPU: bf16 autocast, GPU batch size, a version that loads and scores on
CPU. Skipped (with the reason) where torch sees no GPU; benchmarks/device_check.sh runs them
on a lent GPU machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import sentiment_rows, write_csv

from monitor.scoring.artifact import load_version
from monitor.scoring.classifier import TorchClassifier
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW, make_config
from training.data import load_labelled
from training.evaluate import evaluate_examples
from training.train import TrainParams, train_version

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU (torch.cuda.is_available() is False)")]

# The GPU default batch (64) is larger than the 27 training rows: one step per epoch, so
# many epochs, and the tiny random model's embeddings train too (frozen, it learns slowly).
PARAMS = TrainParams(epochs=30, lr=5e-3, max_length=16, eval_fraction=0.25, patience=30,
                     min_per_class=4, freeze_embeddings=False)


def test_precision_on_cuda_is_bf16_autocast_without_a_scaler() -> None:
    from training.device import precision

    autocast, scaler = precision(torch.device("cuda"))
    assert torch.cuda.is_bf16_supported()  # every GPU this project targets (Ampere and later)
    assert autocast.fast_dtype == torch.bfloat16 and autocast.device == "cuda"
    assert not scaler.is_enabled()  # bf16 needs no loss scaling


def test_train_on_cuda_saves_a_version_that_scores_alike_on_gpu_and_cpu(
        tmp_path: Path, tiny_base: Path, engine) -> None:  # type: ignore[no-untyped-def]
    config = make_config(tmp_path, model={"base_model": str(tiny_base), "device": "cuda",
                                          "registry_dir": str(tmp_path / "models")})
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    out = train_version(config, engine, data, PARAMS, now=NOW, progress=False)
    hp = out.card["hyperparameters"]
    assert hp["device"] == "cuda" and hp["batch_size"] == 64
    import math
    assert all(math.isfinite(row["train_loss"]) for row in out.card["history"])  # bf16
    # The cue words separate the classes: trained in bf16 the model must learn them.
    loaded = load_version(out.folder)
    texts, gold = [e.text for e in data.examples], [e.label for e in data.examples]
    learned = evaluate_examples(loaded.model, loaded.tokenizer, texts, gold, loaded.labels,
                                max_length=16)
    assert learned["accuracy"] >= 0.9, learned

    gpu = TorchClassifier(loaded, device="cuda", batch_size=8, max_length=16)
    assert gpu.backend == "torch-cuda-bfloat16"
    on_gpu = gpu.predict_proba(texts)
    on_cpu = TorchClassifier(load_version(out.folder), batch_size=8,
                             max_length=16).predict_proba(texts)
    # bf16 keeps 8 mantissa bits: probabilities agree to a few hundredths, labels all but
    # exactly (a near-tie may flip).
    assert max(abs(g[k] - c[k]) for g, c in zip(on_gpu, on_cpu, strict=True) for k in g) < 0.05
    same = sum(max(g, key=g.get) == max(c, key=c.get) for g, c in zip(on_gpu, on_cpu,
                                                                         strict=True))
    assert same >= len(texts) - 1
