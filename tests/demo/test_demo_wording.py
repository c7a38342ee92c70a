"""The burst headlines read as negative to a model trained on real financial news (not on ours).

A bag-of-words classifier fitted on ../shared/data/twitter-financial-news-sentiment stands in for
the monitor's sentiment model: if it flags the scripted bursts, so will a fine-tuned one.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline

from monitor.demo.newswire import FEEDS, generate_items
from tests.conftest import shared_data

BEARISH = 0  # the dataset's labels: 0 bearish, 1 bullish, 2 neutral


@pytest.mark.shared_data
def test_burst_headlines_are_classified_negative_by_an_independent_model() -> None:
    path = shared_data("twitter-financial-news-sentiment", "sent_train.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    model = make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=2),
                          SGDClassifier(loss="log_loss", class_weight="balanced", random_state=0))
    model.fit([r["text"] for r in rows], [int(r["label"]) for r in rows])

    anchor = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    items = [i for f in FEEDS for i in generate_items(
        f, seed=3, anchor=anchor, now=anchor + timedelta(minutes=20))]
    burst = [i for i in items if i.burst]
    predicted = model.predict([i.title for i in burst])
    negative = sum(1 for p in predicted if p == BEARISH)
    assert negative >= 0.8 * len(burst), list(zip([i.title for i in burst], predicted,
                                                  strict=True))
    # The background is mixed on purpose; its negative stories are not all that flags.
    background = [i for i in items if not i.burst]
    flagged = sum(1 for p in model.predict([i.title for i in background]) if p == BEARISH)
    assert flagged / len(background) < 0.5
