"""Dashboard queries on 1,000,000 scored articles: SQL (the pages' store calls) vs pandas.

Seeds a SQLite database with N scored articles over 90 days (~200 feeds, 20 topics, a few
hundred alerts, model versions), then times, per page, the store functions that page calls,
side by side with the baseline of loading the rows into pandas and aggregating there.
Target: every page's data in under 1 s on 2 cores.

    nice python benchmarks/dashboard.py            # 1,000,000 articles, cached in /tmp
    python benchmarks/dashboard.py --articles 100000 --reseed

The seeded file is cached (keyed by size and seed version) in the system temp folder so a
rerun skips the few minutes of seeding.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.data import floor_time  # noqa: E402
from monitor.config import DEFAULT_TOPICS  # noqa: E402
from monitor.scoring import registry  # noqa: E402
from monitor.store import alerts as alert_store  # noqa: E402
from monitor.store import labels as label_store  # noqa: E402
from monitor.store import models as model_store  # noqa: E402
from monitor.store import rollups, stats, views  # noqa: E402
from monitor.store.engine import open_store  # noqa: E402
from monitor.store.schema import articles  # noqa: E402
from monitor.store.views import ArticleFilter  # noqa: E402

SEED_VERSION = 3  # 2: sentiment_rollups rebuilt after seeding; 3: articles_fts search index
NOW = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
DAYS = 90
N_FEEDS = 200
FMT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format
WORDS = ("shares", "profit", "warning", "bank", "rates", "oil", "merger", "guidance", "record",
         "falls", "rises", "cuts", "beats", "misses", "bond", "yield", "dollar", "gold", "probe")


def _ts(dt: datetime) -> str:
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
    created = _ts(NOW - timedelta(days=DAYS + 1))
    con.executemany(
        "INSERT INTO feeds (id, name, url, enabled, poll_minutes, tags, from_config, "
        "error_count, last_success_at, next_check_at, created_at) "
        "VALUES (?, ?, ?, 1, 15, '[]', 1, ?, ?, ?, ?)",
        [(i, f"feed {i:03d}", f"https://feeds.example.com/{i}.xml", int(i % 37 == 0),
          _ts(NOW - timedelta(minutes=i % 15)), _ts(NOW + timedelta(minutes=15)), created)
         for i in range(1, N_FEEDS + 1)])
    span = DAYS * 86400
    start = NOW - timedelta(days=DAYS)
    batch: list[tuple[Any, ...]] = []
    t0 = time.perf_counter()
    # Articles in time order, as a live monitor would insert them.
    offsets = sorted(rng.random() * span for _ in range(n))
    for i, off in enumerate(offsets, start=1):
        published = start + timedelta(seconds=off)
        feed = rng.randint(1, N_FEEDS)
        topic = DEFAULT_TOPICS[min(int(rng.expovariate(0.25)), len(DEFAULT_TOPICS) - 1)]
        p = [rng.random() + 0.05 for _ in range(3)]
        total = sum(p)
        neg, neu, pos = (x / total for x in p)
        label, conf = max((("negative", neg), ("neutral", neu), ("positive", pos)),
                          key=lambda t: t[1])
        title = " ".join(rng.choice(WORDS) for _ in range(8)) + f" #{i}"
        batch.append((i, feed, f"g{i}", f"https://news.example.com/{i}", title,
                      "summary of " + title, _ts(published), _ts(published),
                      hashlib.sha256(title.encode()).hexdigest(), label, conf, neg, neu, pos,
                      "sentiment-v2", topic, 0.3 + 0.7 * rng.random(), "topic-v2"))
        if len(batch) == 50_000:
            _insert(con, batch)
            batch.clear()
            print(f"  seeded {i:,}/{n:,} articles ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    _insert(con, batch)
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
        rows.append(("negative_burst", "topic", rng.choice(DEFAULT_TOPICS), state, _ts(at),
                     _ts(at), None if state == "firing" else _ts(at + timedelta(hours=2)),
                     _ts(NOW), 1e-5, 40, 20.0, 5.0, "burst",
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


# ---------------------------------------------------------------- what each page calls
def overview(conn: Any, days: float, *, warm: bool = False) -> None:
    """The overview's store calls; warm = closed trend buckets already cached (dashboard.data
    caches them for an hour), so only the open bucket is read."""
    bucket = 60 if days <= 1 else 360 if days <= 7 else 1440
    start, end = floor_time(NOW - timedelta(days=days), bucket), NOW + timedelta(minutes=1)
    views.feed_failure_counts(conn)
    views.has_articles(conn)
    views.key_figures(conn, start=start, end=end, baseline_days=7)
    views.list_alert_rows(conn, states=("firing",))
    registry.active_version(conn, "sentiment")
    series_start = floor_time(end, bucket) if warm else start
    stats.sentiment_series(conn, start=series_start, end=end, bucket_minutes=bucket)
    top = [c.scope_value for c in stats.scope_counts(
        conn, start=NOW - timedelta(days=min(days, 7)), end=end, scope_kind="topic")][:5]
    stats.sentiment_series(conn, start=series_start, end=end, bucket_minutes=bucket,
                           scope_kind="topic", scope_values=top)


def articles_page(conn: Any, f: ArticleFilter, pages: int = 1) -> None:
    views.filter_options(conn)
    cursor = None
    for _ in range(pages):
        page = views.article_page(conn, f, limit=50, before=cursor)
        cursor = page.next_cursor


def pandas_overview(con: sqlite3.Connection, days: float) -> None:
    """Baseline: load the range's rows, aggregate in pandas (what a naive dashboard does)."""
    start = _ts(NOW - timedelta(days=days + 7))
    df = pd.read_sql_query(
        "SELECT published_at, feed_id, topic, sentiment, sentiment_confidence, p_negative, "
        "p_positive FROM articles WHERE published_at >= ?", con, params=(start,),
        parse_dates=["published_at"])
    cut = pd.Timestamp(NOW - timedelta(days=days)).tz_localize(None)
    cur = df[df["published_at"] >= cut]
    _ = (cur["sentiment"] == "negative").mean(), (df[df["published_at"] < cut]["sentiment"]
                                                   == "negative").mean()
    cur = cur.assign(index=cur["p_positive"] - cur["p_negative"],
                     neg=cur["sentiment"] == "negative")
    freq = "1h" if days <= 1 else "6h" if days <= 7 else "1D"
    cur.groupby(pd.Grouper(key="published_at", freq=freq)).agg(
        index=("index", "mean"), neg=("neg", "sum"), n=("index", "size"))
    cur.groupby(["topic", pd.Grouper(key="published_at", freq=freq)]).agg(
        index=("index", "mean"), neg=("neg", "sum"))
    df.groupby("feed_id").size()


def pandas_articles(con: sqlite3.Connection, days: float, topic: str | None) -> None:
    df = pd.read_sql_query(
        "SELECT a.*, f.name AS feed FROM articles a JOIN feeds f ON f.id = a.feed_id "
        "WHERE published_at >= ?", con, params=(_ts(NOW - timedelta(days=days)),))
    if topic:
        df = df[df["topic"] == topic]
    df.sort_values(["published_at", "id"], ascending=False).head(50)


def pandas_feeds(con: sqlite3.Connection) -> None:
    df = pd.read_sql_query("SELECT feed_id, published_at FROM articles", con)
    recent = df[df["published_at"] >= _ts(NOW - timedelta(days=7))]
    recent.groupby("feed_id").size()
    df.groupby("feed_id")["published_at"].max()


def _time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--no-baseline", action="store_true", help="skip the pandas baseline")
    args = ap.parse_args()
    path = Path(tempfile.gettempdir()) / f"finsentinel-bench-dashboard-v{SEED_VERSION}-" \
                                         f"{args.articles}.db"
    if args.reseed or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        print(f"seeding {args.articles:,} articles into {path} ...", flush=True)
        t = time.perf_counter()
        tmp = path.with_suffix(".partial")
        tmp.unlink(missing_ok=True)
        seed(tmp, args.articles)
        tmp.rename(path)
        print(f"seeded in {time.perf_counter() - t:.0f} s", flush=True)
    else:
        print(f"using cached {path} (--reseed to rebuild)")
    engine = open_store(f"sqlite:///{path}", migrate=False)
    raw = sqlite3.connect(path)
    neg = ArticleFilter(start=NOW - timedelta(days=7), sentiments=("negative",),
                        topics=("Earnings",), min_confidence=0.6)
    week = ArticleFilter(start=NOW - timedelta(days=7))
    cases: list[tuple[str, Callable[[Any], object], Callable[[], object] | None]] = [
        ("overview, 24 h", lambda c: overview(c, 1), lambda: pandas_overview(raw, 1)),
        ("overview, 7 days", lambda c: overview(c, 7), lambda: pandas_overview(raw, 7)),
        ("overview, 90 days (cold)", lambda c: overview(c, 90),
         lambda: pandas_overview(raw, 90)),
        ("overview, 90 days (warm)", lambda c: overview(c, 90, warm=True), None),
        ("articles, 7 days", lambda c: articles_page(c, week),
         lambda: pandas_articles(raw, 7, None)),
        ("articles, topic+neg+conf", lambda c: articles_page(c, neg),
         lambda: pandas_articles(raw, 7, "Earnings")),
        ("articles, all time, page 20", lambda c: articles_page(c, ArticleFilter(), 20), None),
        ("articles, text search 7 d", lambda c: articles_page(
            c, ArticleFilter(start=NOW - timedelta(days=7), text="merger record")), None),
        ("articles, text search all", lambda c: articles_page(
            c, ArticleFilter(text="#123456")), None),
        ("articles, text search no match", lambda c: articles_page(
            c, ArticleFilter(text="zebra")), None),
        ("alerts", lambda c: (views.list_alert_rows(c), alert_store.active_silences(c, NOW)),
         None),
        ("feeds", lambda c: views.feed_health(c, now=NOW), lambda: pandas_feeds(raw)),
        ("labelling", lambda c: (views.label_queue(c, task="sentiment",
                                                   since=NOW - timedelta(days=14)),
                                 label_store.count_labels(c, "sentiment")), None),
        ("models", lambda c: (model_store.list_versions(c),
                              registry.active_version(c, "sentiment")), None),
    ]
    print(f"\n{'page (median of ' + str(args.repeat) + ')':34} {'SQL (store)':>12} "
          f"{'pandas baseline':>16} {'speed-up':>9}  target < 1 s")
    worst = 0.0
    for name, sql_fn, pandas_fn in cases:
        with engine.connect() as conn:
            sql_s = _time(lambda: sql_fn(conn), args.repeat)  # noqa: B023
        worst = max(worst, sql_s)
        base = None if pandas_fn is None or args.no_baseline else _time(pandas_fn, 1)
        ratio = f"{base / sql_s:8.1f}x" if base else ""
        base_txt = f"{base:15.3f}s" if base else f"{'-':>16}"
        print(f"{name:34} {sql_s:11.3f}s {base_txt} {ratio:>9}  "
              f"{'ok' if sql_s < 1 else 'SLOW'}", flush=True)
    print(f"\nslowest page: {worst:.3f} s ({'meets' if worst < 1 else 'misses'} the 1 s target)")
    raw.close()
    engine.dispose()


if __name__ == "__main__":
    main()
