"""The lexical half of a version: fitted on the training rows, weighed on validation, saved,
loaded, blended wherever the version scores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from training_helpers import FAST as HELPER_FAST
from training_helpers import sentiment_rows, write_cli_config, write_csv

from monitor.cli import cli
from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring.artifact import load_version, save_version, verify_version
from monitor.scoring.classifier import make_classifier
from monitor.scoring.lexical import ARRAYS_FILE, SPEC_FILE
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW, make_config
from training.data import Example, load_labelled, stratified_split
from training.lexical import BLOCKS, C, fit_lexical
from training.train import train_version

FAST = replace(HELPER_FAST, epochs=2)


def _examples(per_class: int = 12) -> list[Example]:
    return [Example(text, label, "rows.csv", i + 2)
            for i, (text, label) in enumerate(sentiment_rows(per_class))]


def _onehot(rows: list[Example], labels: tuple[str, ...] = SENTIMENT_LABELS) -> np.ndarray:
    return np.eye(len(labels))[[labels.index(e.label) for e in rows]]


def test_probabilities_are_scikit_learns_for_the_same_features() -> None:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train, val = stratified_split(_examples(), 0.25, 13)
    uniform = np.full((len(val), 3), 1 / 3)  # an encoder that knows nothing
    fit = fit_lexical(train, val, SENTIMENT_LABELS, uniform)
    assert fit.model is not None and fit.summary["kept"] and 0 < fit.model.weight <= 0.9
    # The reference: the same recipe straight from scikit-learn.
    vecs = [TfidfVectorizer(analyzer=a, ngram_range=r, min_df=m, sublinear_tf=True).fit(
        [e.text for e in train]) for a, r, m in BLOCKS]

    def x(rows: list[Example]):  # type: ignore[no-untyped-def]
        return hstack([v.transform([e.text for e in rows]) for v in vecs]).tocsr()

    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(
        x(train), [SENTIMENT_LABELS.index(e.label) for e in train])
    texts = [*val, Example("acme shares jump on record sales", "positive", "new", 1)]
    want = clf.predict_proba(x(texts))
    got = fit.model.proba([e.text for e in texts])
    assert np.abs(got - want).max() < 1e-4  # float32 storage
    assert fit.summary["features"] == sum(len(v.vocabulary_) for v in vecs)
    # The blend is the stated mixture, row by row.
    enc = np.tile([0.2, 0.5, 0.3], (len(texts), 1))
    blended = fit.model.blend(enc, [e.text for e in texts])
    w = fit.model.weight
    assert np.allclose(blended, (1 - w) * enc + w * got) and np.allclose(blended.sum(1), 1)


def test_no_lexical_model_when_the_encoder_is_already_right() -> None:
    train, val = stratified_split(_examples(), 0.25, 13)
    fit = fit_lexical(train, val, SENTIMENT_LABELS, _onehot(val))
    assert fit.model is None
    assert fit.summary["kept"] is False and fit.summary["weight"] == 0
    assert fit.summary["validation"]["encoder"]["macro_f1"] == 1.0


def test_two_labels_give_the_logistic_probabilities() -> None:
    from sklearn.linear_model import LogisticRegression

    labels = ("negative", "positive")
    cues = {"negative": ("loss", "slump", "misses"), "positive": ("profit", "gains", "beats")}
    rows = [Example(f"company{i % 7} {cues[label][i % 3]} week{i % 5}", label, "rows.csv", i)
            for label in labels for i in range(15)]
    train, val = stratified_split(rows, 0.25, 13)
    fit = fit_lexical(train, val, labels, np.full((len(val), 2), 0.5))
    assert fit.model is not None and fit.model.coef.shape[0] == 2
    x = fit.model.features([e.text for e in val])
    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(
        fit.model.features([e.text for e in train]), [labels.index(e.label) for e in train])
    assert np.abs(fit.model.proba([e.text for e in val]) - clf.predict_proba(x)).max() < 1e-4


def test_train_saves_the_lexical_model_and_every_scorer_blends_it(
        config: Config, engine, tmp_path: Path) -> None:
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    out = train_version(config, engine, data, FAST, now=NOW, progress=False)
    lex = out.card["lexical"]
    assert set(lex["validation"]) == {"encoder", "lexical", "blend"}
    # Two epochs of a tiny random model: the cue words are the lexical model's to find.
    assert lex["kept"] and lex["weight"] > 0
    assert lex["validation"]["blend"]["macro_f1"] > lex["validation"]["encoder"]["macro_f1"]
    assert out.card["metrics"]["macro_f1"] == pytest.approx(lex["validation"]["blend"][
        "macro_f1"], abs=1e-4)
    assert out.card["metrics_encoder"]["macro_f1"] == pytest.approx(
        lex["validation"]["encoder"]["macro_f1"], abs=1e-4)
    card = verify_version(out.folder)
    assert {SPEC_FILE, ARRAYS_FILE} <= set(card["files"])
    assert card["weights"] == ["model.safetensors"]  # the lexical arrays are not encoder weights

    loaded = load_version(out.folder)
    assert loaded.lexical is not None and loaded.lexical.weight == lex["weight"]
    texts = [e.text for e in data.examples]
    for int8 in (False, True):
        cfg = make_config(tmp_path, model={"base_model": config.model.base_model,
                                           "registry_dir": str(tmp_path / "models"),
                                           "cpu_int8": int8, "max_length": 16})
        clf = make_classifier(loaded, cfg)
        assert clf.backend.endswith("+lexical")
        got = np.array([[p[k] for k in SENTIMENT_LABELS] for p in clf.predict_proba(texts)])
        inner = np.array([[p[k] for k in SENTIMENT_LABELS]
                          for p in clf.inner.predict_proba(texts)])  # type: ignore[attr-defined]
        assert np.allclose(got, loaded.lexical.blend(inner, texts))
        assert np.allclose(got.sum(axis=1), 1.0)


def test_without_lexical_the_version_is_the_encoder_alone(config: Config, engine,
                                                          tmp_path: Path) -> None:
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    out = train_version(config, engine, data, replace(FAST, lexical=False), now=NOW,
                        progress=False)
    assert "lexical" not in out.card and not (out.folder / SPEC_FILE).exists()
    loaded = load_version(out.folder)
    assert loaded.lexical is None
    assert not make_classifier(loaded, config).backend.endswith("+lexical")


def _saved_with_lexical(config: Config, engine, tmp_path: Path) -> Path:
    data = load_labelled([write_csv(tmp_path / "t.csv", sentiment_rows(12))], "sentiment",
                         SENTIMENT_LABELS)
    out = train_version(config, engine, data, FAST, now=NOW, progress=False)
    assert out.card["lexical"]["kept"]
    return out.folder


def test_a_damaged_lexical_file_is_refused_with_the_file_named(config: Config, engine,
                                                                 tmp_path: Path) -> None:
    folder = _saved_with_lexical(config, engine, tmp_path)
    arrays = folder / ARRAYS_FILE
    data = bytearray(arrays.read_bytes())
    data[-1] ^= 0xFF
    arrays.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"lexical\.safetensors fails its sha256 check"):
        load_version(folder)


def test_lexical_files_that_disagree_with_the_model_are_refused(config: Config, engine,
                                                                  tmp_path: Path) -> None:
    from monitor.scoring.artifact import sha256_file

    folder = _saved_with_lexical(config, engine, tmp_path)
    spec_path = folder / SPEC_FILE
    spec = json.loads(spec_path.read_text("utf-8"))
    spec["labels"] = ["negative", "positive", "neutral"]  # hand-edited, hash updated too
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text("utf-8"))
    card["files"][SPEC_FILE] = sha256_file(spec_path)
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=r"lexical\.json: labels .* differ from the model's"):
        load_version(folder)


def test_save_refuses_a_lexical_model_for_other_labels(config: Config, engine,
                                                      tmp_path: Path) -> None:
    loaded = load_version(_saved_with_lexical(config, engine, tmp_path))
    assert loaded.lexical is not None
    other = replace(loaded.lexical, labels=("negative", "positive", "neutral"))
    with pytest.raises(ModelError, match="lexical model's labels"):
        save_version(loaded.model, loaded.tokenizer, {"task": "sentiment"},
                     tmp_path / "copy", lexical=other)
    assert not (tmp_path / "copy").exists()


def test_cli_train_no_lexical_and_evaluate_names_the_blend(tmp_path: Path,
                                                          tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    data = write_csv(tmp_path / "t.csv", sentiment_rows(12))
    runner = CliRunner()
    common = ["--config", str(cfg)]
    res = runner.invoke(cli, [*common, "db", "upgrade"])
    assert res.exit_code == 0, res.output
    fast = ["--epochs", "2", "--lr", "5e-3", "--batch-size", "8", "--max-length", "16"]
    res = runner.invoke(cli, [*common, "train", "--task", "sentiment", "--data", str(data),
                              "--no-lexical", *fast])
    assert res.exit_code == 0, res.output
    plain = next((tmp_path / "models" / "sentiment").iterdir())
    assert not (plain / SPEC_FILE).exists()
    res = runner.invoke(cli, [*common, "train", "--task", "sentiment", "--data", str(data),
                              *fast])
    assert res.exit_code == 0, res.output
    blended = next(p for p in (tmp_path / "models" / "sentiment").iterdir() if p != plain)
    assert (blended / SPEC_FILE).exists()
    assert "blended with a lexical model at weight" in res.output
    assert "the encoder alone: accuracy" in res.output
    res = runner.invoke(cli, [*common, "evaluate", "--task", "sentiment", "--data", str(data),
                              "--model", blended.name])
    assert res.exit_code == 0, res.output
    weight = json.loads((blended / "card.json").read_text("utf-8"))["lexical"]["weight"]
    assert f"blended with its lexical model at weight {weight:g}" in res.output
