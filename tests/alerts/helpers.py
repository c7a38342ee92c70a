"""Seeding helpers for alert tests: feeds and scored articles written through the real store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from monitor.store.articles import insert_entries
from monitor.store.feeds import add_feed
from monitor.store.schema import articles, feeds
from monitor.store.scores import save_predictions
from monitor.types import Entry, FeedSpec, Prediction


@dataclass(frozen=True)
class Seed:
    """One article to store, already scored."""

    feed: str
    published_at: datetime
    sentiment: str = "neutral"
    confidence: float = 0.9
    topic: str | None = "Markets"
    title: str = ""
    link: str | None = None


def feed_id(conn: Connection, name: str, now: datetime) -> int:
    row = conn.execute(select(feeds.c.id).where(feeds.c.name == name)).first()
    if row is not None:
        return int(row.id)
    return add_feed(conn, FeedSpec(name, f"http://127.0.0.1/{name}.xml"), now)


def _probs(label: str, confidence: float) -> dict[str, float]:
    rest = (1.0 - confidence) / 2
    return {k: (confidence if k == label else rest) for k in ("negative", "neutral", "positive")}


def seed_articles(conn: Connection, seeds: Iterable[Seed], now: datetime) -> list[int]:
    """Insert and score the seeds (through insert_entries + save_predictions); returns ids."""
    ids = []
    for i, s in enumerate(seeds):
        fid = feed_id(conn, s.feed, now)
        title = s.title or f"{s.sentiment} story {i} at {s.published_at:%Y-%m-%d %H:%M}"
        guid = f"g-{i}-{s.published_at.isoformat()}-{title}"
        h = hashlib.sha256(guid.encode()).hexdigest()
        insert_entries(conn, fid, [Entry(guid, s.link or f"http://127.0.0.1/a/{i}", title, "",
                                          s.published_at, h)], now)
        aid = int(conn.execute(select(articles.c.id).where(articles.c.content_hash == h))
                  .scalar_one())
        # One call per task: save_predictions batches one executemany per call.
        save_predictions(conn, [Prediction(aid, "sentiment", "test-v1", s.sentiment,
                                           _probs(s.sentiment, s.confidence))], now)
        if s.topic is not None:
            save_predictions(conn, [Prediction(aid, "topic", "test-v1", s.topic,
                                               {s.topic: 0.8})], now)
        ids.append(aid)
    return ids


def bulk_articles(conn: Connection, feed: str, topic: str | None, now: datetime,
                  items: Iterable[tuple[datetime, str, float]], *, prefix: str = "") -> None:
    """Many scored articles at once (published_at, sentiment, confidence), one feed/topic.

    Direct inserts keep multi-day histories fast to seed; the score columns are the ones
    save_predictions writes.
    """
    from sqlalchemy import insert

    fid = feed_id(conn, feed, now)
    rows = []
    for i, (t, label, conf) in enumerate(items):
        probs = _probs(label, conf)
        key = f"{prefix}{feed}-{topic}-{i}-{t.isoformat()}"
        rows.append({
            "feed_id": fid, "guid": key, "link": f"http://127.0.0.1/{prefix}{i}",
            "title": f"{prefix}{label} {topic} story {i}", "summary": "", "published_at": t,
            "fetched_at": t, "content_hash": hashlib.sha256(key.encode()).hexdigest(),
            "sentiment": label, "sentiment_confidence": conf,
            "p_negative": probs["negative"], "p_neutral": probs["neutral"],
            "p_positive": probs["positive"], "sentiment_version": "test-v1",
            "topic": topic, "topic_confidence": 0.8 if topic else None,
            "topic_version": "test-v1" if topic else None})
    if rows:
        conn.execute(insert(articles), rows)


def background(now: datetime, days: float, *, every_minutes: int = 10,
               pattern: tuple[str, ...] = ("neutral", "positive", "negative", "neutral"),
               confidence: float = 0.9) -> list[tuple[datetime, str, float]]:
    """A steady stream: one article every `every_minutes` over `days` before `now`."""
    from datetime import timedelta

    n = int(days * 1440 / every_minutes)
    return [(now - timedelta(minutes=every_minutes * (k + 1) - 3), pattern[k % len(pattern)],
             confidence) for k in range(n)]
