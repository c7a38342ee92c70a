"""Ensemble distillation: soft targets, the loss against them, teachers -> student -> version."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from training_helpers import COMPANIES, CUES, sentiment_rows, write_csv

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import DataError
from monitor.scoring import registry
from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW, make_config
from training.data import load_labelled, stratified_split
from training.distill import distil, mean_proba, soft_targets, train_distilled
from training.evaluate import predict_proba
from training.loop import Head, _batch_loss, make_loop
from training.pseudo import load_unlabelled
from training.train import TrainParams

FAST = TrainParams(epochs=3, lr=5e-3, batch_size=8, max_length=16, eval_fraction=0.25,
                   patience=3, min_per_class=4)


def _unlabelled() -> list[str]:
    return [f"{COMPANIES[(i + 3) % len(COMPANIES)]} {cues[i % len(cues)]} later {i + 20}"
            for cues in CUES.values() for i in range(6)]


def test_soft_targets_mix_the_gold_label_and_the_teachers() -> None:
    teachers = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]], dtype=np.float32)
    got = soft_targets([2, 0], teachers, 0.5)
    assert got == pytest.approx(np.array([[0.1, 0.25, 0.65], [0.8, 0.15, 0.05]]))
    assert got.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert soft_targets([2, 0], teachers, 1.0) == pytest.approx(np.array([[0, 0, 1],
                                                                         [1, 0, 0]]))
    assert soft_targets([2, 0], teachers, 0.0) == pytest.approx(teachers)


def test_the_loss_is_cross_entropy_against_the_soft_targets(tiny_base: Path) -> None:
    import torch

    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS, seed=1)
    texts = ["acme misses", "board meets", "report due", "results date"]
    soft = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]],
                    dtype=np.float32)
    head = Head("sentiment", SENTIMENT_LABELS)
    loop, _ = make_loop(model, tokenizer, texts, [head], [soft],
                        replace(FAST, class_weights=False), torch.device("cpu"), 4)
    logits = torch.randn(2, 3)
    expected = -(torch.from_numpy(soft[[1, 3]]) * logits.log_softmax(-1)).sum(-1).mean()
    assert float(_batch_loss(loop, logits, [1, 3])) == pytest.approx(float(expected), rel=1e-5)
    # Class weights come from the expected class counts under the soft targets.
    weighted, _ = make_loop(model, tokenizer, texts, [head], [soft], FAST, torch.device("cpu"),
                            4)
    sums = soft.sum(axis=0)
    assert weighted.loss_fns[0].weight.numpy() == pytest.approx(4 / (3 * sums), rel=1e-5)


def test_mean_proba_averages_the_models(tiny_base: Path) -> None:
    base = resolve_base_model(str(tiny_base))
    (a, tokenizer), (b, _) = (load_base_for_classification(base, SENTIMENT_LABELS, seed=s)
                              for s in (1, 2))
    texts = _unlabelled()[:7]
    want = (predict_proba(a, tokenizer, texts, max_length=16)
            + predict_proba(b, tokenizer, texts, max_length=16)) / 2
    assert mean_proba([a, b], tokenizer, texts, max_length=16) == pytest.approx(want, abs=1e-6)


def test_distil_trains_seeded_teachers_and_keeps_the_best_single_model(tiny_base: Path,
                                                                       tmp_path: Path) -> None:
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    train, val = stratified_split(data.examples, FAST.eval_fraction, FAST.seed)
    unlabelled = _unlabelled()
    out = distil(resolve_base_model(str(tiny_base)), train, val, SENTIMENT_LABELS, FAST,
                 teachers=2, alpha=0.5, unlabelled=unlabelled, min_confidence=0.34,
                 progress=False)
    s = out.summary
    assert [t["seed"] for t in s["teachers"]] == [FAST.seed, FAST.seed + 1]
    assert len(out.teachers) == 2
    # Different seeds, different heads: the teachers are different models.
    assert not np.allclose(out.teachers[0].model.classifier.weight.detach().numpy(),
                           out.teachers[1].model.classifier.weight.detach().numpy())
    probs = mean_proba([t.model for t in out.teachers], out.tokenizer, unlabelled,
                       max_length=16)
    sure = int((probs.max(axis=1) >= 0.34).sum())
    assert s["unlabelled_offered"] == len(unlabelled) and s["unlabelled_soft_labelled"] == sure
    best = max(t["validation"]["macro_f1"] for t in s["teachers"])
    if s["student_validation"]["macro_f1"] >= best:
        assert s["kept"] == "student" and out.chosen is out.student
        assert out.n_train == len(train) + sure
    else:
        assert s["kept"].startswith("teacher (seed ") and out.chosen in out.teachers
        assert out.n_train == len(train)
    assert out.chosen.metrics["macro_f1"] == pytest.approx(max(best, s["student_validation"][
        "macro_f1"]), abs=1e-4)


@pytest.fixture
def config(tmp_path: Path, tiny_base: Path) -> Config:
    return make_config(tmp_path, model={"base_model": str(tiny_base),
                                        "registry_dir": str(tmp_path / "models")})


def test_a_distilled_version_is_saved_with_its_card(config: Config, engine,
                                                   tmp_path: Path) -> None:
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    u = load_unlabelled([write_csv(tmp_path / "u.csv", [(t,) for t in _unlabelled()],
                                   header=("text",))])
    out = train_distilled(config, engine, data, FAST, teachers=2, alpha=0.7, now=NOW,
                          unlabelled=u, min_confidence=0.34, progress=False)
    d = out.card["distillation"]
    assert d["alpha"] == 0.7 and len(d["teachers"]) == 2
    assert d["unlabelled"] == [{"path": u.sources[0].path, "sha256": u.sources[0].sha256,
                                "rows": len(_unlabelled())}]
    kept = d["student_validation"] if d["kept"] == "student" else next(
        t["validation"] for t in d["teachers"] if d["kept"] == f"teacher (seed {t['seed']})")
    assert out.card["metrics"]["macro_f1"] == pytest.approx(kept["macro_f1"], abs=1e-4)
    assert registry.active_version(engine, "sentiment") == out.version
    with pytest.raises(DataError, match="--teachers must be between 2 and 10"):
        train_distilled(config, engine, data, FAST, teachers=1, alpha=0.5, now=NOW,
                        progress=False)
    with pytest.raises(DataError, match=r"--distill-alpha must be in \[0, 1\]"):
        train_distilled(config, engine, data, FAST, teachers=2, alpha=1.5, now=NOW,
                        progress=False)


def test_cli_distillation(tmp_path: Path, tiny_base: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "fs.db"}"\n\n[model]\n'
                   f'base_model = "{tiny_base}"\nregistry_dir = "models"\n', encoding="utf-8")
    f = write_csv(tmp_path / "train.csv", sentiment_rows(12))
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment", "--data",
                              str(f), "--teachers", "2", "--epochs", "2", "--lr", "5e-3",
                              "--batch-size", "8", "--max-length", "16"])
    assert res.exit_code == 0, res.output
    assert "distillation: 2 teachers, then a student" in res.output
    assert "their ensemble " in res.output and "kept the " in res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["distillation"]["unlabelled"] == [] and card["distillation"]["alpha"] == 0.5
    for extra, message in ((["--teachers", "11"], "--teachers must be between 2 and 10"),
                           (["--teachers", "2", "--distill-alpha", "2"],
                            "--distill-alpha must be in [0, 1]"),
                           (["--teachers", "2", "--aux-data", str(f)],
                            "--teachers go with --task sentiment or topic")):
        res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                  "--data", str(f), *extra])
        assert res.exit_code == 1 and message in res.output, res.output
