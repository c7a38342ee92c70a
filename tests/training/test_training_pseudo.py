"""Self-training: unlabelled texts read, pseudo-labelled by a teacher, a student trained on them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from training_helpers import COMPANIES, CUES, FAST, sentiment_rows, write_cli_config, write_csv

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import DataError
from monitor.scoring import registry
from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
from monitor.text import model_input
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW
from tests.scoring.helpers import add_articles, hours_ago
from training.data import load_labelled
from training.evaluate import predict_proba
from training.pseudo import (
    PSEUDO_SOURCE,
    candidate_texts,
    load_unlabelled,
    pseudo_label,
    train_self_trained,
)
from training.readers import read_rows
from training.train import fit


def _unlabelled_rows() -> list[tuple[str, ...]]:
    """Texts in the labelled rows' style that none of them repeats."""
    return [(f"{COMPANIES[(i + 3) % len(COMPANIES)]} {cues[i % len(cues)]} later {i + 20}",)
            for cues in CUES.values() for i in range(6)]


def test_texts_are_read_without_a_label_column(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "u.csv", [("Acme shares jump", "x"), ("Board meets", "y")],
                  header=("headline", "other"))
    rows = read_rows(f, "sentiment", labelled=False)
    assert [(r.text, r.label, r.line) for r in rows] == [("Acme shares jump", "", 2),
                                                         ("Board meets", "", 3)]
    j = tmp_path / "u.jsonl"
    j.write_text('{"title": "Acme misses"}\n\n{"title": "Hooli beats"}\n', encoding="utf-8")
    assert [r.text for r in read_rows(j, "topic", labelled=False)] == ["Acme misses",
                                                                      "Hooli beats"]
    with pytest.raises(DataError, match="no text column"):
        read_rows(write_csv(tmp_path / "bad.csv", [("a",)], header=("body",)), "sentiment",
                  labelled=False)
    # A labelled read of the same file still wants its label column.
    with pytest.raises(DataError, match="no label column"):
        read_rows(f, "sentiment")


def test_unlabelled_texts_come_from_files_and_stored_articles(tmp_path: Path, engine) -> None:
    f = write_csv(tmp_path / "u.csv", [("Acme https://t.co/x shares jump",), ("https://t.co/y",)],
                  header=("text",))
    add_articles(engine, "a", hours_ago(1, 2, 3))
    got = load_unlabelled([f], engine=engine)
    # Normalised as the scorer and the training rows are (links dropped); a link-only text
    # is empty then and dropped.
    assert got.texts[0] == model_input("Acme https://t.co/x shares jump") == "Acme shares jump"
    assert len(got.texts) == 1 + 3
    assert [(s.path, s.rows) for s in got.sources] == [(str(f), 2), ("database:articles", 3)]
    from monitor.store.articles import list_articles

    with engine.connect() as conn:
        stored = list_articles(conn, limit=10)
    assert set(got.texts[1:]) == {model_input(a.title, a.summary) for a in stored}


def test_candidates_drop_labelled_texts_and_repeats() -> None:
    assert candidate_texts(["a", "b", "a", "", "c"], exclude=["b"]) == ["a", "c"]


def test_pseudo_labels_are_the_confident_predictions(tiny_base: Path, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "train.csv", sentiment_rows(12))
    data = load_labelled([f], "sentiment", SENTIMENT_LABELS)
    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS)
    examples = list(data.examples)
    fit(model, tokenizer, examples[::2], examples[1::2], SENTIMENT_LABELS, FAST,
        progress=False)
    texts = [t for (t,) in _unlabelled_rows()]
    probs = predict_proba(model, tokenizer, texts, max_length=16)
    everything = pseudo_label(model, tokenizer, texts, SENTIMENT_LABELS,
                              min_confidence=1e-9, max_length=16)
    assert everything.offered == len(texts) == len(everything.examples)
    assert [e.label for e in everything.examples] == \
        [SENTIMENT_LABELS[int(p.argmax())] for p in probs]
    assert {e.source for e in everything.examples} == {PSEUDO_SOURCE}
    threshold = float(sorted(probs.max(axis=1))[len(texts) // 2])
    some = pseudo_label(model, tokenizer, texts, SENTIMENT_LABELS, min_confidence=threshold,
                        max_length=16)
    assert [e.text for e in some.examples] == \
        [t for t, p in zip(texts, probs, strict=True) if p.max() >= threshold]
    assert 0 < len(some.examples) < len(texts)
    assert sum(some.counts(SENTIMENT_LABELS).values()) == len(some.examples)
    with pytest.raises(DataError, match="--min-confidence must be in"):
        pseudo_label(model, tokenizer, texts, SENTIMENT_LABELS, min_confidence=0,
                     max_length=16)


def test_self_training_saves_the_better_of_teacher_and_student(config: Config, engine,
                                                                tmp_path: Path) -> None:
    f = write_csv(tmp_path / "train.csv", sentiment_rows(12))
    u = write_csv(tmp_path / "u.csv", [*_unlabelled_rows(), (sentiment_rows(12)[0][0],)],
                  header=("text",))
    data = load_labelled([f], "sentiment", SENTIMENT_LABELS)
    texts = load_unlabelled([u])
    # A tiny model is barely better than uniform (1/3 per class): keep what it leans to.
    out = train_self_trained(config, engine, data, texts, FAST, min_confidence=0.3334,
                             now=NOW, progress=False)
    st = out.card["self_training"]
    # The labelled text in the unlabelled file is not offered again.
    assert st["offered"] == len(_unlabelled_rows())
    assert st["unlabelled"] == [{"path": str(u), "sha256": texts.sources[0].sha256,
                                 "rows": len(_unlabelled_rows()) + 1}]
    assert sum(st["per_class"].values()) == st["pseudo_labelled"] > 0
    student, teacher = st["student_validation"], st["teacher_validation"]
    assert st["kept"] == ("student" if student["macro_f1"] > teacher["macro_f1"] else "teacher")
    # The encoder's own figures (a kept lexical blend has its own under "metrics").
    encoder = out.card.get("metrics_encoder", out.card["metrics"])
    assert encoder["macro_f1"] == pytest.approx(
        (student if st["kept"] == "student" else teacher)["macro_f1"], abs=1e-4)
    extra = st["pseudo_labelled"] if st["kept"] == "student" else 0
    assert out.card["examples"]["train"] == 27 + extra
    assert registry.active_version(engine, "sentiment") == out.version
    with pytest.raises(DataError, match="--min-confidence must be in"):
        train_self_trained(config, engine, data, texts, FAST, min_confidence=1.5, now=NOW,
                           progress=False)


def test_cli_self_training_from_a_file_and_the_database(tmp_path: Path, tiny_base: Path) -> None:
    from monitor.store.engine import open_store

    cfg = write_cli_config(tmp_path, tiny_base)
    engine = open_store(f"sqlite:///{tmp_path / 'fs.db'}")
    add_articles(engine, "a", hours_ago(1, 2))
    engine.dispose()
    f = write_csv(tmp_path / "train.csv", sentiment_rows(12))
    u = write_csv(tmp_path / "u.csv", _unlabelled_rows(), header=("text",))
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment", "--data",
                              str(f), "--unlabelled", str(u), "--unlabelled-from-db",
                              "--min-confidence", "0.34", "--epochs", "2", "--lr", "5e-3",
                              "--batch-size", "8", "--max-length", "16"])
    assert res.exit_code == 0, res.output
    assert f"self-training with {len(_unlabelled_rows()) + 2} unlabelled texts" in res.output
    assert "pseudo-labelled " in res.output and "kept the " in res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert [s["path"] for s in card["self_training"]["unlabelled"]] == [str(u),
                                                                        "database:articles"]
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "both", "--data",
                              str(f), "--unlabelled", str(u)])
    assert res.exit_code == 1
    assert "--unlabelled/--unlabelled-from-db/--soup go with" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment", "--data",
                              str(f), "--unlabelled", str(tmp_path / "missing.csv")])
    assert res.exit_code == 1 and "missing.csv not found" in res.output


def test_too_few_labelled_examples_are_refused_before_any_training(config: Config, engine,
                                                                   tmp_path: Path) -> None:
    f = write_csv(tmp_path / "few.csv", [("up", "positive"), ("down", "negative"),
                                         ("flat", "neutral")])
    data = load_labelled([f], "sentiment", SENTIMENT_LABELS)
    u = load_unlabelled([write_csv(tmp_path / "u.csv", _unlabelled_rows(), header=("text",))])
    with pytest.raises(DataError, match="needs at least 4"):
        train_self_trained(config, engine, data, u, replace(FAST), min_confidence=0.9, now=NOW,
                           progress=False)
