"""Score writes: save_predictions throughput with the hourly rollup upkeep vs without it.

Baseline ("no rollups"): the same save_predictions calls with the rollup bookkeeping
(monitor.store.rollups.snapshot / apply_change) switched off for the run, i.e. what the
store wrote before the rollups existed. Ours: the real code. Each run scores N fresh
articles newest first (sentiment + topic, 200 feeds, 20 topics, batches of --batch articles,
one transaction per batch, as the score job does), then re-scores them with a second version
(every current column changes). Default density: that of 1M articles over 90 days.

    nice python benchmarks/score_writes.py [--articles 20000] [--batch 64] [--days 2]   (SQLite)
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.store import rollups  # noqa: E402
from monitor.store.articles import insert_entries  # noqa: E402
from monitor.store.engine import open_store  # noqa: E402
from monitor.store.feeds import add_feed  # noqa: E402
from monitor.store.scores import save_predictions  # noqa: E402
from monitor.types import Entry, FeedSpec, Prediction  # noqa: E402

NOW = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
TOPICS = tuple(f"topic {i}" for i in range(20))


def _seed(url: str, n: int, days: float) -> list[int]:
    """n unscored articles over `days`; ids newest first, the order the score job takes."""
    engine = open_store(url)
    rng = random.Random(1)
    with engine.begin() as conn:
        fids = [add_feed(conn, FeedSpec(f"feed {i}", f"https://e.example/{i}"), NOW)
                for i in range(200)]
        for i in range(n):
            at = NOW - timedelta(seconds=(n - i + rng.random()) / n * days * 86400)
            h = hashlib.sha256(f"a{i}".encode()).hexdigest()
            insert_entries(conn, fids[rng.randrange(200)],
                           [Entry(f"a{i}", None, f"t{i}", "", at, h)], NOW)
    engine.dispose()
    return list(range(n, 0, -1))


def _preds(ids: list[int], version: str, rng: random.Random) -> list[Prediction]:
    out = []
    for aid in ids:
        raw = [rng.random() for _ in range(3)]
        probs = {k: x / sum(raw) for k, x in zip(("negative", "neutral", "positive"), raw,
                                                 strict=True)}
        out.append(Prediction(aid, "sentiment", version, max(probs, key=lambda k: probs[k]),
                              probs))
        topic = TOPICS[min(int(rng.expovariate(0.25)), len(TOPICS) - 1)]
        out.append(Prediction(aid, "topic", version, topic, {topic: 0.8}))
    return out


def _run(url: str, ids: list[int], batch: int) -> tuple[float, float]:
    engine = open_store(url)
    rates = []
    for version in ("v1", "v2"):
        rng = random.Random(version)
        t = time.perf_counter()
        for i in range(0, len(ids), batch):
            with engine.begin() as conn:
                save_predictions(conn, _preds(ids[i:i + batch], version, rng), NOW)
        rates.append(len(ids) / (time.perf_counter() - t))
    engine.dispose()
    return rates[0], rates[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--days", type=float, default=2.0,
                    help="time span of the articles (default: 1M over 90 days' density)")
    args = ap.parse_args()
    results: dict[str, tuple[float, float]] = {}
    saved: dict[str, Any] = {"snapshot": rollups.snapshot, "apply_change": rollups.apply_change}
    for name in ("no rollups", "rollups"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/writes.db"
            print(f"{name}: seeding {args.articles:,} articles ...", flush=True)
            ids = _seed(url, args.articles, args.days)
            if name == "no rollups":
                rollups.snapshot = lambda conn, ids: {}  # type: ignore[assignment]
                rollups.apply_change = lambda conn, a, b: 0  # type: ignore[assignment]
            try:
                results[name] = _run(url, ids, args.batch)
            finally:
                rollups.snapshot = saved["snapshot"]
                rollups.apply_change = saved["apply_change"]
    print(f"\n{'articles/s (both tasks)':28} {'first score':>12} {'re-score':>10}")
    for name, (first, again) in results.items():
        print(f"{name:28} {first:12,.0f} {again:10,.0f}")
    base, ours = results["no rollups"], results["rollups"]
    print(f"{'rollups / no rollups':28} {ours[0] / base[0]:12.2f} {ours[1] / base[1]:10.2f}")


if __name__ == "__main__":
    main()
