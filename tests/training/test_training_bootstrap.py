"""The shipped bootstrap set: regenerable, complete, valid for both tasks, not copied."""

from __future__ import annotations

import csv
import random
from collections import Counter

from monitor.config_sections import DEFAULT_TOPICS
from monitor.text import model_input
from monitor.types import SENTIMENT_LABELS
from tests.conftest import shared_data
from training.bootstrap import BOOTSTRAP_CSV, LABEL_COLUMNS, fillers
from training.bootstrap.generate import generate, main, render, ticker, to_csv
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


def test_a_cashtag_names_the_sentences_own_company() -> None:
    rng = random.Random(7)
    for _ in range(50):
        text = render("${tk} - {co} buys {co2}; ${tk2} up", rng, ("{t}",))
        head, rest = text.split(" - ", 1)
        company, other = rest.removesuffix(" up").split(" buys ")
        other, other_tag = other.split("; ")
        assert company in fillers.COMPANIES and other in fillers.COMPANIES and company != other
        assert head == f"${ticker(company)}" and other_tag == f"${ticker(other)}"


def test_bootstrap_csv_validates_for_both_tasks() -> None:
    for task, column in LABEL_COLUMNS.items():
        data = load_labelled([BOOTSTRAP_CSV], task, task_labels(task), label_column=column,
                             min_per_class=20)
        assert len(data.examples) == len(generate()) and set(data.counts().values()) != {0}


def test_no_row_is_copied_or_closely_paraphrased_from_the_shared_datasets() -> None:
    """The set is written, not copied: no row equals a shared row once links are dropped, and
    none is near one (TF-IDF cosine over words and word pairs; the closest rows today share
    only stock phrases such as "shares halted pending news", at about 0.6)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    fpb = shared_data("fpb", "fpb_50agree_dev.tsv")
    tweets = shared_data("twitter-financial-news-sentiment", "sent_train.csv")
    topics = shared_data("twitter-financial-news-topic", "topic_train.csv")
    ours = sorted({model_input(text).lower() for text, _, _ in generate()})
    theirs: set[str] = set()
    with fpb.open(encoding="utf-8", newline="") as fh:
        theirs.update(model_input(r[0]).lower() for r in csv.reader(fh, delimiter="\t"))
    for path in (tweets, topics):
        with path.open(encoding="utf-8", newline="") as fh:
            theirs.update(model_input(r[0]).lower() for r in csv.reader(fh))
    assert not set(ours) & theirs
    vectorizer = TfidfVectorizer(ngram_range=(1, 2)).fit([*ours, *theirs])
    similarity = vectorizer.transform(ours) @ vectorizer.transform(sorted(theirs)).T
    closest = similarity.max(axis=1).toarray().ravel()
    worst = int(closest.argmax())
    assert closest[worst] < 0.75, f"{ours[worst]!r} is too close to a shared row"
