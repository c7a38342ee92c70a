"""Fit a version's lexical model on its training rows and choose its blend weight on validation.

The model (monitor.scoring.lexical) is a class-balanced logistic regression over TF-IDF word
1-2-grams and character 2-5-grams. The weight is the one of 0, 0.05, ..., 0.9 whose blend
with the encoder's validation probabilities has the best macro-F1; when no weight beats the
encoder alone, no lexical model is kept and the version scores with its encoder only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.scoring.lexical import Block, LexicalModel
from training.data import Example

log = logging.getLogger(__name__)

# (analyzer, n-gram range, min_df): words and word pairs; characters inside word boundaries,
# which catch tickers, inflections and misspellings. min_df 2 drops one-off n-grams: they
# cannot generalise and would double the vocabulary.
BLOCKS = (("word", (1, 2), 2), ("char_wb", (2, 5), 2))
C = 10.0  # inverse regularisation; 3 / 10 / 30 measured within a point on validation
WEIGHTS = tuple(round(0.05 * k, 2) for k in range(19))  # 0 .. 0.9


@dataclass(frozen=True)
class LexicalFit:
    """What fitting found: the model to keep (None when it does not help) and the figures."""

    model: LexicalModel | None
    summary: dict[str, Any] = field(default_factory=dict)


def fit_lexical(train: Sequence[Example], val: Sequence[Example], labels: Sequence[str],
                encoder_val: np.ndarray) -> LexicalFit:
    """Fit on train; choose the weight on val, where encoder_val holds the encoder's
    probabilities (rows in val's order, columns in labels' order)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    labels = tuple(labels)
    ids = {label: i for i, label in enumerate(labels)}
    texts = [e.text for e in train]
    y = np.array([ids[e.label] for e in train])
    vecs = _fit_vectorizers(texts)
    x = hstack([v.transform(texts) for v in vecs]).tocsr()
    log.info("lexical model: %d TF-IDF features from %d training rows", x.shape[1], len(texts))
    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
    clf.fit(x, y)
    blocks = tuple(Block(analyzer, ngrams, tuple(v.get_feature_names_out()),
                         np.asarray(v.idf_, dtype=np.float64))
                   for (analyzer, ngrams, _), v in zip(BLOCKS, vecs, strict=True))
    coef, intercept = _full_rank(clf, labels)
    candidate = LexicalModel(labels, blocks, coef, intercept, weight=1.0)

    gold = np.array([ids[e.label] for e in val])
    lexical_val = candidate.proba([e.text for e in val])
    # Ties go to the smaller weight: the encoder alone unless the blend is strictly better.
    scored = [(_figures(gold, (1 - w) * encoder_val + w * lexical_val, len(labels)), w)
              for w in WEIGHTS]
    best, weight = max(scored, key=lambda s: (s[0]["macro_f1"], s[0]["accuracy"], -s[1]))
    alone = _figures(gold, lexical_val, len(labels))
    summary = {"kept": weight > 0, "weight": weight, "C": C, "features": int(x.shape[1]),
               "validation": {"encoder": scored[0][0], "lexical": alone, "blend": best},
               "seconds": round(time.monotonic() - started, 1)}
    log.info("lexical model: validation macro-F1 encoder %.4f, lexical %.4f, blend %.4f at "
             "weight %.2f (%s)", scored[0][0]["macro_f1"], alone["macro_f1"], best["macro_f1"],
             weight, "kept" if weight else "not kept")
    if weight == 0:
        return LexicalFit(None, summary)
    return LexicalFit(LexicalModel(labels, blocks, coef, intercept, weight), summary)


def _fit_vectorizers(texts: Sequence[str]) -> list[Any]:
    """One TF-IDF vectorizer per BLOCKS entry, fitted on texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vecs = []
    for analyzer, ngrams, min_df in BLOCKS:
        vec = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, min_df=min_df,
                              sublinear_tf=True, dtype=np.float32)
        try:
            vec.fit(texts)
        except ValueError:  # too few rows for min_df: every n-gram is a one-off
            vec = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True,
                                  dtype=np.float32).fit(texts)
        vecs.append(vec)
    return vecs


def _figures(gold: np.ndarray, probs: np.ndarray, n_labels: int) -> dict[str, float]:
    """Accuracy and macro-F1 (4 decimals) of probs' argmax against the gold label ids."""
    from sklearn.metrics import accuracy_score, f1_score

    pred = probs.argmax(axis=1)
    return {"accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, labels=range(n_labels),
                                             average="macro", zero_division=0)), 4)}


def _full_rank(clf: Any, labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(labels x features) coefficients and intercepts whose softmax is the classifier's
    predict_proba, with rows in labels' order (the classes are 0..n-1 in that order)."""
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # two classes: sigmoid(z) == softmax([-z/2, z/2])[1]
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    full = np.zeros((len(labels), coef.shape[1]))
    bias = np.full(len(labels), -1e4)  # a class never seen in training is never predicted
    for row, cls in enumerate(clf.classes_):
        full[int(cls)], bias[int(cls)] = coef[row], intercept[row]
    return full, bias


def attach_lexical(card: dict[str, Any], model: Any, tokenizer: Any, train: Sequence[Example],
                   val: Sequence[Example], labels: Sequence[str], *, max_length: int,
                   enabled: bool = True) -> tuple[dict[str, Any], LexicalModel | None]:
    """(card, lexical model or None) for a trained model about to be saved: the lexical
    model fitted and weighed as fit_lexical does, its figures under the card's "lexical";
    when kept, the card's metrics become the blend's (what the version scores with) and the
    encoder's alone move to "metrics_encoder"."""
    if not enabled:
        return card, None
    from training.evaluate import card_metrics, metrics_report, predict_proba

    texts = [e.text for e in val]
    encoder = predict_proba(model, tokenizer, texts, max_length=max_length)
    fit = fit_lexical(train, val, labels, encoder)
    card = {**card, "lexical": fit.summary}
    if fit.model is None:
        return card, None
    blended = fit.model.blend(encoder, texts)
    metrics = metrics_report([e.label for e in val],
                             [labels[int(i)] for i in blended.argmax(axis=1)], labels)
    return {**card, "metrics": card_metrics(metrics),
            "metrics_encoder": card.get("metrics")}, fit.model
