"""monitor.store.views on SQLite and PostgreSQL: filters, keyset paging, health, key figures."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import insert

from monitor.store import views
from monitor.store.articles import insert_entries
from monitor.store.feeds import add_feed, record_error
from monitor.store.schema import alerts, labels
from monitor.store.scores import save_predictions
from monitor.store.views import ArticleFilter
from monitor.types import Entry, FeedSpec, Prediction
from tests.conftest import NOW


def _seed(engine, n=30):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        a = add_feed(conn, FeedSpec("A", "https://a.example/feed"), NOW)
        b = add_feed(conn, FeedSpec("B", "https://b.example/feed"), NOW)
        record_error(conn, b, now=NOW, next_check_at=NOW, error="timeout", status=None)
        for fid in (a, b):
            entries = [Entry(f"{fid}-{i}", f"https://x.example/{fid}/{i}",
                             f"title {i} 50% off_sale" if i == 3 else f"title {i}",
                             "", NOW - timedelta(hours=i),
                             hashlib.sha256(f"{fid}-{i}".encode()).hexdigest())
                       for i in range(n)]
            # Same published_at for two articles: keyset paging must not skip or repeat.
            entries.append(Entry(f"{fid}-tie", None, "tie", "", NOW - timedelta(hours=5),
                                 hashlib.sha256(f"{fid}-tie".encode()).hexdigest()))
            insert_entries(conn, fid, entries, NOW)
        ids = [r["id"] for r in views.article_page(conn, ArticleFilter(), limit=1000).rows]
        for task, make in (("sentiment", lambda i: ("negative" if i % 2 else "positive")),
                           ("topic", lambda i: "Macro" if i % 3 else "Earnings")):
            preds = []
            for aid in ids:
                label = make(aid)
                probs = ({"negative": 0.8, "neutral": 0.1, "positive": 0.1} if label ==
                         "negative" else {"negative": 0.1, "neutral": 0.2, "positive": 0.7}) \
                    if task == "sentiment" else {label: 0.9}
                preds.append(Prediction(aid, task, f"{task}-v1", label, probs))
            save_predictions(conn, preds, NOW)
    return a, b, len(ids)


def test_keyset_paging_visits_every_article_once_newest_first(any_engine):
    _, _, total = _seed(any_engine)
    seen, cursor = [], None
    with any_engine.connect() as conn:
        while True:
            page = views.article_page(conn, ArticleFilter(), limit=7, before=cursor)
            seen += page.rows
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == total == len({r["id"] for r in seen})
    keys = [(r["published_at"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)


def test_filters_combine(any_engine):
    a, _, _ = _seed(any_engine)
    f = ArticleFilter(start=NOW - timedelta(hours=10), sentiments=("negative",),
                      topics=("Macro",), feed_ids=(a,), min_confidence=0.75)
    with any_engine.connect() as conn:
        rows = views.article_page(conn, f, limit=100).rows
    assert rows
    assert all(r["sentiment"] == "negative" and r["topic"] == "Macro" and r["feed"] == "A"
               and r["sentiment_confidence"] >= 0.75
               and r["published_at"] >= NOW - timedelta(hours=10) for r in rows)


def test_text_filter_is_case_insensitive_and_wildcards_are_literal(any_engine):
    _seed(any_engine)
    with any_engine.connect() as conn:
        hits = views.article_page(conn, ArticleFilter(text="50% OFF_SALE"), limit=100).rows
        wild = views.article_page(conn, ArticleFilter(text="title _"), limit=100).rows
    assert len(hits) == 2 and all("50% off_sale" in r["title"] for r in hits)
    assert wild == []  # "_" is not "any character"


def test_feed_health_key_figures_alerts_and_label_queue(any_engine):
    a, b, total = _seed(any_engine)
    with any_engine.begin() as conn:
        for state in ("resolved", "firing"):
            conn.execute(insert(alerts).values(
                rule="r", scope_kind="all", scope_value="all", state=state,
                started_at=NOW, last_evaluated_at=NOW, statistic=1, window_count=1,
                window_negative=1, expected=1, summary="", evidence={}))
        first = views.label_queue(conn, task="sentiment", since=NOW - timedelta(days=2))[0]
        conn.execute(insert(labels).values(article_id=first["id"], text="t", task="sentiment",
                                           label="neutral", source="test", created_at=NOW))
    with any_engine.connect() as conn:
        health = {h["name"]: h for h in views.feed_health(conn, now=NOW, days=1)}
        figures = views.key_figures(conn, start=NOW - timedelta(days=2),
                                    end=NOW + timedelta(minutes=1), baseline_days=7)
        states = [r["state"] for r in views.list_alert_rows(conn)]
        queue = views.label_queue(conn, task="sentiment", since=NOW - timedelta(days=2))
        options = views.filter_options(conn)
        failing = views.feed_failure_counts(conn)
        assert views.has_articles(conn)
    assert failing == (2, 1)
    assert health["B"]["error_count"] == 1 and health["B"]["last_error"] == "timeout"
    assert health["A"]["articles_per_day"] == 26.0  # hours 0..24 inclusive + the tie
    assert health["A"]["latest_article_at"] == NOW
    assert figures["articles"] == total and figures["scored"] == total
    assert 0 < figures["negative_share"] < 1 and figures["baseline_negative_share"] is None
    assert states == ["firing", "resolved"]
    assert first["id"] not in {r["id"] for r in queue}
    assert options["topics"] == ["Earnings", "Macro"]
    assert [name for _, name in options["feeds"]] == ["A", "B"]


def test_negative_share_is_the_stats_definition(any_engine):
    from monitor.store import stats

    _seed(any_engine)
    start, end = NOW - timedelta(hours=20), NOW + timedelta(minutes=1)
    with any_engine.connect() as conn:
        figures = views.key_figures(conn, start=start, end=end, baseline_days=1)
        [overall] = stats.scope_counts(conn, start=start, end=end, scope_kind="all")
    assert figures["scored"] == overall.articles
    assert figures["negative_share"] == overall.negative_share
