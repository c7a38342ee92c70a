"""A SQLite database of N scored articles over 90 days for the dashboard benchmark, fast.

~200 feeds, 20 topics, a few hundred alerts and two model versions per task; the schema comes
from the migrations, the rows from sqlite3 executemany with the secondary indexes built after.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex

from monitor.config_sections import DEFAULT_TOPICS
from monitor.store import models as model_store
from monitor.store import rollups
from monitor.store.engine import open_store
from monitor.store.schema import articles

SEED_VERSION = 3  # 2: sentiment_rollups rebuilt after seeding; 3: articles_fts search index
NOW = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
DAYS = 90
N_FEEDS = 200
FMT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format
WORDS = ("shares", "profit", "warning", "bank", "rates", "oil", "merger", "guidance", "record",
         "falls", "rises", "cuts", "beats", "misses", "bond", "yield", "dollar", "gold", "probe")


def sql_time(dt: datetime) -> str:
    """dt as SQLAlchemy stores a DateTime in SQLite (naive UTC text), for raw SQL."""
    return dt.astimezone(UTC).replace(tzinfo=None).strftime(FMT)


def seed(path: Path, n: int) -> None:
    """Write n scored articles with sqlite3 executemany (the schema comes from migrations)."""
    engine = open_store(f"sqlite:///{path}")
    engine.dispose()
    rng = random.Random(42)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")  # 1 GB: the unique (feed, guid) index stays hot
    # Bulk load without the secondary indexes, then build each once (a sort, not 1M inserts).
    article_indexes = [ix for ix in articles.indexes if ix.name]
    for ix in article_indexes:
        con.execute(f"DROP INDEX IF EXISTS {ix.name}")
    _seed_feeds(con)
    _seed_articles(con, rng, n)
    _seed_alerts(con, rng)
    con.commit()
    print("  building indexes ...", flush=True)
    for ix in article_indexes:
        con.execute(str(CreateIndex(ix).compile(dialect=sqlite_dialect.dialect())))
    con.commit()
    # articles_fts (text search) needs no step here: migration 0002's insert trigger fills it
    # row by row during the executemany, as it does for the live monitor.
    con.execute("ANALYZE")
    con.commit()
    con.close()
    _seed_models(path)
    _rebuild_rollups(path)


def _seed_feeds(con: sqlite3.Connection) -> None:
    created = sql_time(NOW - timedelta(days=DAYS + 1))
    con.executemany(
        "INSERT INTO feeds (id, name, url, enabled, poll_minutes, tags, from_config, "
        "error_count, last_success_at, next_check_at, created_at) "
        "VALUES (?, ?, ?, 1, 15, '[]', 1, ?, ?, ?, ?)",
        [(i, f"feed {i:03d}", f"https://feeds.example.com/{i}.xml", int(i % 37 == 0),
          sql_time(NOW - timedelta(minutes=i % 15)), sql_time(NOW + timedelta(minutes=15)), created)
         for i in range(1, N_FEEDS + 1)])


def _seed_articles(con: sqlite3.Connection, rng: random.Random, n: int) -> None:
    """n scored articles over the DAYS before NOW, inserted in batches of 50,000."""
    span = DAYS * 86400
    start = NOW - timedelta(days=DAYS)
    batch: list[tuple[Any, ...]] = []
    t0 = time.perf_counter()
    # Articles in time order, as a live monitor would insert them.
    offsets = sorted(rng.random() * span for _ in range(n))
    for i, off in enumerate(offsets, start=1):
        batch.append(_article_row(rng, i, start + timedelta(seconds=off)))
        if len(batch) == 50_000:
            _insert(con, batch)
            batch.clear()
            print(f"  seeded {i:,}/{n:,} articles ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    _insert(con, batch)


def _article_row(rng: random.Random, i: int, published: datetime) -> tuple[Any, ...]:
    """Article i: a random feed, a skewed topic, random sentiment probabilities and title."""
    feed = rng.randint(1, N_FEEDS)
    topic = DEFAULT_TOPICS[min(int(rng.expovariate(0.25)), len(DEFAULT_TOPICS) - 1)]
    p = [rng.random() + 0.05 for _ in range(3)]
    total = sum(p)
    neg, neu, pos = (x / total for x in p)
    label, conf = max((("negative", neg), ("neutral", neu), ("positive", pos)),
                      key=lambda t: t[1])
    title = " ".join(rng.choice(WORDS) for _ in range(8)) + f" #{i}"
    return (i, feed, f"g{i}", f"https://news.example.com/{i}", title,
            "summary of " + title, sql_time(published), sql_time(published),
            hashlib.sha256(title.encode()).hexdigest(), label, conf, neg, neu, pos,
            "sentiment-v2", topic, 0.3 + 0.7 * rng.random(), "topic-v2")


def _insert(con: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    con.executemany(
        "INSERT INTO articles (id, feed_id, guid, link, title, summary, published_at, "
        "fetched_at, content_hash, sentiment, sentiment_confidence, p_negative, p_neutral, "
        "p_positive, sentiment_version, topic, topic_confidence, topic_version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _seed_alerts(con: sqlite3.Connection, rng: random.Random) -> None:
    rows = []
    for i in range(300):
        at = NOW - timedelta(hours=rng.random() * DAYS * 24)
        state = "firing" if i < 3 else "resolved"
        rows.append(("negative_burst", "topic", rng.choice(DEFAULT_TOPICS), state, sql_time(at),
                     sql_time(at), None if state == "firing" else sql_time(at + timedelta(hours=2)),
                     sql_time(NOW), 1e-5, 40, 20.0, 5.0, "burst",
                     '{"headlines": [{"title": "x", "link": "https://e.example/1"}]}'))
    con.executemany(
        "INSERT INTO alerts (rule, scope_kind, scope_value, state, started_at, fired_at, "
        "resolved_at, last_evaluated_at, statistic, window_count, window_negative, expected, "
        "summary, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _seed_models(path: Path) -> None:
    engine = open_store(f"sqlite:///{path}")
    with engine.begin() as conn:
        for task in ("sentiment", "topic"):
            for v in (1, 2):
                model_store.insert_version(conn, version=f"{task}-v{v}", task=task,
                                           path=f"/nonexistent/{task}-v{v}", base_model="x",
                                           metrics={"macro_f1": 0.8}, card={},
                                           created_at=NOW - timedelta(days=10 - v))
                model_store.insert_activation(conn, task=task, version=f"{task}-v{v}",
                                              activated_at=NOW - timedelta(days=10 - v),
                                              reason="seed")
    engine.dispose()


def _rebuild_rollups(path: Path) -> None:
    """Seeding bypasses scoring, which keeps the hourly rollups: backfill them once."""
    engine = open_store(f"sqlite:///{path}")
    t = time.perf_counter()
    with engine.begin() as conn:
        rows = rollups.rebuild(conn)
    print(f"  rebuilt {rows:,} rollup rows in {time.perf_counter() - t:.1f} s", flush=True)
    engine.dispose()
