"""The train, evaluate and bootstrap commands end to end on a tiny random BERT: options reach
the card, frozen or trained embeddings, labels from the database, one clear line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from click.testing import CliRunner
from training_helpers import sentiment_rows, write_bootstrap_file, write_cli_config, write_csv

from monitor.cli import cli
from monitor.config_sections import DEFAULT_TOPICS
from tests.conftest import NOW


def test_cli_train_then_evaluate(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    rows = [(t, {"positive": "1", "negative": "0", "neutral": "2"}[lab])
            for t, lab in sentiment_rows(12)]
    half = len(rows) // 2
    a = write_csv(tmp_path / "a.csv", rows[::2])
    b = write_csv(tmp_path / "b.csv", rows[1::2])
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment", "--data",
                              str(a), str(b), "--label-map", "0=negative,1=positive,2=neutral",
                              "--epochs", "2", "--lr", "5e-3", "--batch-size", "8",
                              "--max-length", "16", "--eval-fraction", "0.25",
                              "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "training sentiment on 36 examples (negative=12, neutral=12, positive=12)" \
        in res.output
    assert "precision" in res.output and "confusion matrix" in res.output
    assert "is now the active sentiment model" in res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["hyperparameters"]["threads"] == 1 and card["max_length"] == 16
    assert card["hyperparameters"]["freeze_embeddings"] is True
    assert half == 18
    # frozen by default: the saved word embeddings are the base's, bit for bit
    saved = _word_embeddings(tmp_path / "models" / "sentiment" / version)
    assert saved.equal(_word_embeddings(tiny_base))

    res = runner.invoke(cli, ["--config", str(cfg), "evaluate", "--task", "sentiment",
                              "--data", str(a), "--label-map", "0=negative,1=positive,2=neutral"])
    assert res.exit_code == 0, res.output
    assert f"model {version} (sentiment" in res.output and "macro avg" in res.output
    assert "(n=18)" in res.output

    res = runner.invoke(cli, ["--config", str(cfg), "evaluate", "--task", "topic",
                              "--data", str(a)])
    assert res.exit_code == 1 and "no active topic model" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "evaluate", "--task", "sentiment",
                              "--data", str(a), "--model", "nope"])
    assert res.exit_code == 1 and "unknown model version 'nope'" in res.output


def _word_embeddings(folder: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    weights = load_file(str(folder / "model.safetensors"))
    (key,) = [k for k in weights if k.endswith("embeddings.word_embeddings.weight")]
    return weights[key]


def test_cli_train_embeddings_fine_tunes_the_word_embeddings(tmp_path: Path,
                                                             tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    data = write_csv(tmp_path / "s.csv", sentiment_rows(8))
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(data), "--train-embeddings", "--epochs", "1",
                                   "--lr", "5e-3", "--batch-size", "8", "--max-length", "16",
                                   "--eval-fraction", "0.25", "--threads", "1"])
    assert res.exit_code == 0, res.output
    version = res.output.split("saved model version ")[1].split()[0]
    folder = tmp_path / "models" / "sentiment" / version
    card = json.loads((folder / "card.json").read_text("utf-8"))
    assert card["hyperparameters"]["freeze_embeddings"] is False
    before, after = _word_embeddings(tiny_base), _word_embeddings(folder)
    assert before.shape == after.shape and not after.equal(before)


def test_cli_ema_is_recorded_in_the_card_and_checked(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    data = write_csv(tmp_path / "s.csv", sentiment_rows(8))
    args = ["--config", str(cfg), "train", "--task", "sentiment", "--data", str(data),
            "--epochs", "1", "--lr", "5e-3", "--batch-size", "8", "--max-length", "16",
            "--eval-fraction", "0.25", "--threads", "1"]
    res = CliRunner().invoke(cli, [*args, "--ema", "2.5"])
    assert res.exit_code == 0, res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["hyperparameters"]["ema_epochs"] == 2.5
    res = CliRunner().invoke(cli, [*args, "--ema", "-1"])
    assert res.exit_code == 1 and "--ema (the weight average's span in epochs)" in res.output
    assert "got -1.0" in res.output and "Traceback" not in res.output


def test_cli_bad_data_is_one_clear_line(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    bad = write_csv(tmp_path / "bad.csv", [("up", "positive"), ("down", "bearish")])
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(bad)])
    assert res.exit_code == 1
    assert "bad.csv line 3: unknown label 'bearish'" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment"])
    assert res.exit_code == 1 and "nothing to train on" in res.output
    ok = write_csv(tmp_path / "ok.csv", sentiment_rows(6))
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(ok), "--threads", "0"])
    assert res.exit_code == 1 and "--threads must be at least 1, got 0" in res.output


def test_cli_train_from_db_labels(tmp_path: Path, tiny_base: Path) -> None:
    from monitor.store.engine import open_store
    from monitor.store.labels import save_label

    cfg = write_cli_config(tmp_path, tiny_base)
    engine = open_store(f"sqlite:///{tmp_path / 'fs.db'}")
    with engine.begin() as conn:
        for text, label in sentiment_rows(6):
            save_label(conn, text=text, task="sentiment", label=label, now=NOW)
    engine.dispose()
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--from-db", "--epochs", "1", "--batch-size", "8",
                                   "--max-length", "16", "--eval-fraction", "0.34"])
    assert res.exit_code == 0, res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["data"] == [{"path": "database:labels", "sha256": None, "rows": 18}]


def test_cli_bootstrap_trains_missing_tasks_then_skips(tmp_path: Path, tiny_base: Path) -> None:
    # A small file in the bootstrap format (model.bootstrap_data) keeps this test fast; the
    # shipped file is checked in test_training_bootstrap.py.
    cfg = write_cli_config(tmp_path, tiny_base)
    write_bootstrap_file(tmp_path, cfg, DEFAULT_TOPICS)
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "bootstrap", "--epochs", "1"])
    assert res.exit_code == 0, res.output
    assert "sentiment: trained sentiment-" in res.output and "topic: trained topic-" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "bootstrap", "--task", "topic"])
    assert res.exit_code == 0 and "topic: skipped (active version topic-" in res.output

