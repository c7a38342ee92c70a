"""Dashboard queries on 1,000,000 scored articles: SQL (the pages' store calls) vs pandas.

Seeds a SQLite database with N scored articles over 90 days (~200 feeds, 20 topics, a few
hundred alerts, model versions), then times, per page, the store functions that page calls,
side by side with the baseline of loading the rows into pandas and aggregating there.
Target: every page's data in under 1 s on 2 cores.

    nice python benchmarks/dashboard.py            # 1,000,000 articles, cached in /tmp
    python benchmarks/dashboard.py --articles 100000 --reseed

The seeded file is cached (keyed by size and seed version) in the system temp folder so a
rerun skips the few minutes of seeding.

The seeding is in _dashboard_seed.py; this script times the pages' calls and prints.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _dashboard_seed import NOW, SEED_VERSION, seed, sql_time  # noqa: E402

from dashboard.data import floor_time  # noqa: E402
from monitor.scoring import registry  # noqa: E402
from monitor.store import alerts as alert_store  # noqa: E402
from monitor.store import labels as label_store  # noqa: E402
from monitor.store import models as model_store  # noqa: E402
from monitor.store import stats, views  # noqa: E402
from monitor.store.engine import open_store  # noqa: E402
from monitor.store.views import ArticleFilter  # noqa: E402

# (page, its store calls on a connection, the pandas baseline or None)
Case = tuple[str, Callable[[Any], object], Callable[[], object] | None]


# ---------------------------------------------------------------- what each page calls
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
    start = sql_time(NOW - timedelta(days=days + 7))
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
        "WHERE published_at >= ?", con, params=(sql_time(NOW - timedelta(days=days)),))
    if topic:
        df = df[df["topic"] == topic]
    df.sort_values(["published_at", "id"], ascending=False).head(50)


def pandas_feeds(con: sqlite3.Connection) -> None:
    df = pd.read_sql_query("SELECT feed_id, published_at FROM articles", con)
    recent = df[df["published_at"] >= sql_time(NOW - timedelta(days=7))]
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
    path = _seeded(args.articles, args.reseed)
    engine = open_store(f"sqlite:///{path}", migrate=False)
    raw = sqlite3.connect(path)
    _print_timings(engine, _cases(raw), args.repeat, args.no_baseline)
    raw.close()
    engine.dispose()


def _seeded(n: int, reseed: bool) -> Path:
    """The cached seeded database of n articles in the temp folder, seeded first if needed."""
    path = Path(tempfile.gettempdir()) / f"finsentinel-bench-dashboard-v{SEED_VERSION}-" \
                                         f"{n}.db"
    if reseed or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        print(f"seeding {n:,} articles into {path} ...", flush=True)
        t = time.perf_counter()
        tmp = path.with_suffix(".partial")
        tmp.unlink(missing_ok=True)
        seed(tmp, n)
        tmp.rename(path)
        print(f"seeded in {time.perf_counter() - t:.0f} s", flush=True)
    else:
        print(f"using cached {path} (--reseed to rebuild)")
    return path


def _cases(raw: sqlite3.Connection) -> list[Case]:
    """Each page's store calls, with the pandas baseline where there is a naive equivalent."""
    neg = ArticleFilter(start=NOW - timedelta(days=7), sentiments=("negative",),
                        topics=("Earnings",), min_confidence=0.6)
    week = ArticleFilter(start=NOW - timedelta(days=7))
    return [
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


def _print_timings(engine: Engine, cases: list[Case], repeat: int, no_baseline: bool) -> None:
    """The table: each page's median SQL time, the baseline's, the speed-up, the verdict."""
    print(f"\n{'page (median of ' + str(repeat) + ')':34} {'SQL (store)':>12} "
          f"{'pandas baseline':>16} {'speed-up':>9}  target < 1 s")
    worst = 0.0
    for name, sql_fn, pandas_fn in cases:
        with engine.connect() as conn:
            sql_s = _time(lambda: sql_fn(conn), repeat)  # noqa: B023
        worst = max(worst, sql_s)
        base = None if pandas_fn is None or no_baseline else _time(pandas_fn, 1)
        ratio = f"{base / sql_s:8.1f}x" if base else ""
        base_txt = f"{base:15.3f}s" if base else f"{'-':>16}"
        print(f"{name:34} {sql_s:11.3f}s {base_txt} {ratio:>9}  "
              f"{'ok' if sql_s < 1 else 'SLOW'}", flush=True)
    print(f"\nslowest page: {worst:.3f} s ({'meets' if worst < 1 else 'misses'} the 1 s target)")


if __name__ == "__main__":
    main()
