"""Model soup: weights averaged, runs from one head, the soup saved unless it failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from training_helpers import FAST, sentiment_rows, write_cli_config, write_csv

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import DataError
from monitor.scoring import registry
from monitor.scoring.artifact import load_version
from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW
from training.data import load_labelled, stratified_split
from training.evaluate import evaluate_examples
from training.soup import FAILED_SOUP_MARGIN, average_weights, make_soup, train_soup


def test_average_weights_is_the_elementwise_mean() -> None:
    import torch

    a = {"w": torch.tensor([1.0, 2.0]), "ids": torch.tensor([0, 1])}
    b = {"w": torch.tensor([3.0, 6.0]), "ids": torch.tensor([0, 1])}
    c = {"w": torch.tensor([2.0, 1.0]), "ids": torch.tensor([0, 1])}
    got = average_weights([a, b, c])
    assert got["w"].tolist() == pytest.approx([2.0, 3.0])
    assert got["ids"].dtype == torch.int64 and got["ids"].tolist() == [0, 1]
    assert a["w"].tolist() == [1.0, 2.0]  # the inputs are left alone
    with pytest.raises(ValueError, match="different parameters"):
        average_weights([a, {"w": torch.tensor([1.0, 2.0])}])


def _split(tmp_path: Path):
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    return data, *stratified_split(data.examples, FAST.eval_fraction, FAST.seed)


def test_the_soup_averages_runs_that_started_from_one_head(tiny_base: Path,
                                                           tmp_path: Path) -> None:
    _, train, val = _split(tmp_path)
    base = resolve_base_model(str(tiny_base))
    out = make_soup(base, train, val, SENTIMENT_LABELS, FAST, members=2, progress=False)
    runs = [f.model.state_dict() for f in out.members]
    # One starting head (drawn with the run's seed), different training seeds: different ends.
    start, _ = load_base_for_classification(base, SENTIMENT_LABELS, seed=FAST.seed)
    assert [m["seed"] for m in out.summary["members"]] == [FAST.seed, FAST.seed + 1]
    assert not runs[0]["classifier.weight"].equal(runs[1]["classifier.weight"])
    assert not runs[0]["classifier.weight"].equal(start.state_dict()["classifier.weight"])
    soup = out.soup.model.state_dict()
    for name in ("classifier.weight", "bert.encoder.layer.0.attention.self.query.weight"):
        assert soup[name].numpy() == pytest.approx(
            ((runs[0][name] + runs[1][name]) / 2).numpy(), abs=1e-6)
    # The soup's validation figures are its own predictions' figures.
    again = evaluate_examples(out.soup.model, out.tokenizer, [e.text for e in val],
                              [e.label for e in val], SENTIMENT_LABELS, max_length=16)
    assert out.soup.metrics["macro_f1"] == pytest.approx(again["macro_f1"])
    best = max(f.metrics["macro_f1"] for f in out.members)
    if out.soup.metrics["macro_f1"] >= best - FAILED_SOUP_MARGIN:
        assert out.summary["kept"] == "soup" and out.chosen.model is out.soup.model
    else:
        assert out.summary["kept"].startswith("member (seed ")
        assert any(out.chosen.model is f.model for f in out.members)
    with pytest.raises(DataError, match="--soup must be between 2 and 10"):
        make_soup(base, train, val, SENTIMENT_LABELS, FAST, members=1, progress=False)


def test_a_soup_version_is_saved_loadable_with_its_card(config: Config, engine,
                                                        tmp_path: Path) -> None:
    data, _, val = _split(tmp_path)
    out = train_soup(config, engine, data, FAST, members=2, now=NOW, progress=False)
    info = out.card["soup"]
    assert len(info["members"]) == 2 and all(m["history"] for m in info["members"])
    kept = info["soup_validation"] if info["kept"] == "soup" else next(
        m["validation"] for m in info["members"] if info["kept"] == f"member (seed {m['seed']})")
    # The encoder's own figures; a kept lexical blend has its own under "metrics".
    encoder = out.card.get("metrics_encoder", out.card["metrics"])
    assert encoder["macro_f1"] == pytest.approx(kept["macro_f1"], abs=1e-4)
    assert (out.card["best_epoch"] is None) == (info["kept"] == "soup")
    assert registry.active_version(engine, "sentiment") == out.version
    # The saved folder loads and predicts as the kept model did on validation.
    loaded = load_version(out.folder)
    args = (loaded.model, loaded.tokenizer, [e.text for e in val], [e.label for e in val],
            SENTIMENT_LABELS)
    again = evaluate_examples(*args, max_length=16)
    assert again["macro_f1"] == pytest.approx(encoder["macro_f1"], abs=1e-4)
    blended = evaluate_examples(*args, max_length=16, lexical=loaded.lexical)
    assert blended["macro_f1"] == pytest.approx(out.card["metrics"]["macro_f1"], abs=1e-4)


def test_cli_soup(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    f = write_csv(tmp_path / "train.csv", sentiment_rows(12))
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment", "--data",
                              str(f), "--soup", "2", "--epochs", "2", "--lr", "5e-3",
                              "--batch-size", "8", "--max-length", "16"])
    assert res.exit_code == 0, res.output
    assert "model soup: 2 fine-tunes (seeds 13-14)" in res.output
    assert "; soup " in res.output and "kept the " in res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert [m["seed"] for m in card["soup"]["members"]] == [13, 14]
    for extra, message in ((["--soup", "11"], "--soup must be between 2 and 10"),
                           (["--soup", "2", "--aux-data", str(f)],
                            "--soup go with --task sentiment or topic"),
                           (["--soup", "2", "--unlabelled", str(f)],
                            "--soup and --unlabelled/--unlabelled-from-db cannot be combined")):
        res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                  "--data", str(f), *extra])
        assert res.exit_code == 1 and message in res.output, res.output
