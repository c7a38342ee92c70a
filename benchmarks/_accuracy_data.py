"""The accuracy benchmark's datasets: where they live, the fixed held-out split, the baseline.

Each dataset's held-out 20 % is fixed (seeded, stratified) so that every run and recipe is
tested on the same rows; the TF-IDF + logistic regression baseline is fitted on the rest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from monitor.config_sections import DEFAULT_TOPICS
from monitor.types import SENTIMENT_LABELS
from training.data import Example, load_labelled, stratified_split
from training.evaluate import metrics_report
from training.labels_map import parse_label_map
from training.train import TrainParams

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HOLDOUT_SEED = 2026
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    path: Path
    label_map: str | None
    target: str  # the target, for the printout
    labels: tuple[str, ...]


DATASETS = {
    "fpb": Dataset("FPB 50agree dev", "sentiment", SHARED / "fpb" / "fpb_50agree_dev.tsv", None,
                   "macro-F1 >= 0.85, accuracy >= 0.87, <= 15 min on 2 cores",
                   SENTIMENT_LABELS),
    "twitter": Dataset("Twitter sentiment train", "sentiment",
                       SHARED / "twitter-financial-news-sentiment" / "sent_train.csv",
                       "0=negative,1=positive,2=neutral", "macro-F1 >= 0.88", SENTIMENT_LABELS),
    "topic": Dataset("Twitter topic train", "topic",
                     SHARED / "twitter-financial-news-topic" / "topic_train.csv",
                     str(SHARED / "twitter-financial-news-topic" / "topic_labels.json"),
                     "accuracy >= 0.90", DEFAULT_TOPICS),
}


def baseline(train: list[Example], test: list[Example], labels: tuple[str, ...], *,
             skip: bool = False) -> dict | None:
    """TF-IDF (word 1-2 grams) + class-balanced logistic regression on the same split; None
    with skip (--no-baseline: the topic baseline alone takes ~30 s of CPU)."""
    if skip:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    x = vec.fit_transform([e.text for e in train])
    clf = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
    clf.fit(x, [e.label for e in train])
    pred = clf.predict(vec.transform([e.text for e in test]))
    return metrics_report([e.label for e in test], list(pred), labels)


def split(ds: Dataset) -> tuple[list[Example], list[Example]]:
    """(train+validation rows, fixed held-out test rows) of a dataset."""
    # Real data is noisy: tweets that are only a link (empty once links are dropped), the same
    # text with two labels. Such rows are skipped with a warning (counted in the log).
    data = load_labelled([ds.path], ds.task, ds.labels, label_map=parse_label_map(ds.label_map),
                         skip_invalid=True)
    return stratified_split(data.examples, HOLDOUT_FRACTION, HOLDOUT_SEED)


def held_out(ds: Dataset, *, quick: bool,
             max_train: int | None) -> tuple[list[Example], list[Example]]:
    """split(ds), cut down for --quick (small slices) and --max-train (fewer training rows)."""
    rest, test = split(ds)
    if quick:  # test is sorted by label: shuffle before taking a small slice of it
        random.Random(HOLDOUT_SEED).shuffle(test)
        rest, test = rest[:400], test[:200]
    if max_train is not None:
        rest = rest[:max_train]
    return rest, test


def train_val_test(ds: Dataset, params: TrainParams, *, quick: bool,
                   max_train: int | None) -> tuple[list[Example], list[Example], list[Example]]:
    rest, test = held_out(ds, quick=quick, max_train=max_train)
    train, val = stratified_split(rest, params.eval_fraction, params.seed)
    return train, val, test


def pseudo_texts(pseudo: tuple[Dataset, ...], exclude: list[Example]) -> list[str]:
    """The pseudo datasets' texts (labels unused) that no labelled row of this run has."""
    from training.pseudo import candidate_texts

    return candidate_texts((e.text for d in pseudo for e in load_labelled(
        [d.path], d.task, d.labels, label_map=parse_label_map(d.label_map),
        skip_invalid=True).examples), (e.text for e in exclude))
