"""The shipped bootstrap set: regenerable, complete, valid for both tasks, not copied."""

from __future__ import annotations

import csv
from collections import Counter

from monitor.config import DEFAULT_TOPICS
from monitor.types import SENTIMENT_LABELS
from tests.conftest import shared_data
from training.bootstrap import BOOTSTRAP_CSV, LABEL_COLUMNS
from training.bootstrap.generate import generate, main, to_csv
from training.data import load_labelled, task_labels


def test_committed_csv_is_what_the_generator_writes() -> None:
    assert main(["--check"]) == 0
    assert BOOTSTRAP_CSV.read_text(encoding="utf-8") == to_csv(generate())


def test_every_topic_and_sentiment_is_covered() -> None:
    rows = generate()
    assert len(rows) >= 1500
    cells = Counter((sentiment, topic) for _, sentiment, topic in rows)
    assert set(cells) == {(s, t) for s in SENTIMENT_LABELS for t in DEFAULT_TOPICS}
    assert min(cells.values()) >= 25
    assert len({text.lower() for text, _, _ in rows}) == len(rows)


def test_bootstrap_csv_validates_for_both_tasks() -> None:
    for task, column in LABEL_COLUMNS.items():
        data = load_labelled([BOOTSTRAP_CSV], task, task_labels(task), label_column=column,
                             min_per_class=20)
        assert len(data.examples) == 1680 and set(data.counts().values()) != {0}


def test_no_row_is_copied_from_the_shared_datasets() -> None:
    fpb = shared_data("fpb", "fpb_50agree_dev.tsv")
    tweets = shared_data("twitter-financial-news-sentiment", "sent_train.csv")
    topics = shared_data("twitter-financial-news-topic", "topic_train.csv")
    ours = {text.lower() for text, _, _ in generate()}
    theirs: set[str] = set()
    with fpb.open(encoding="utf-8", newline="") as fh:
        theirs.update(r[0].lower() for r in csv.reader(fh, delimiter="\t"))
    for path in (tweets, topics):
        with path.open(encoding="utf-8", newline="") as fh:
            theirs.update(r[0].lower() for r in csv.reader(fh))
    assert not ours & theirs
