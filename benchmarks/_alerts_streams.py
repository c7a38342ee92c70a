"""Simulated streams of scored news for the alerts benchmark, with negative bursts injected.

Five weeks in 2-minute slots: weekday/weekend and hour-of-day volume, day-to-day swings in
volume and negative share, six topics and four feeds of different sizes, classifier
confidence U(0.55, 1); two bursts per weekday after the first eight days (history only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

STEP = 2  # minutes per simulated slot and between evaluations
PER_DAY = 1440 // STEP
HISTORY_DAYS = 8  # what the job loads: the 7-day baseline plus one day
HISTORY = HISTORY_DAYS * PER_DAY
WEEKS = 5
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
WEEKDAY_ARTICLES = 6000.0
TOPICS = {"Markets": (0.30, 0.25), "Earnings": (0.18, 0.20), "Energy | Oil": (0.12, 0.30),
          "Macro": (0.15, 0.25), "Fed | Central Banks": (0.08, 0.20),
          "Currencies": (0.17, 0.22)}  # volume share, negative share
FEEDS = {"wire-a": 0.4, "wire-b": 0.3, "blog-c": 0.2, "site-d": 0.1}
HOURLY = np.array([.15, .12, .1, .1, .12, .25, .5, 1.2, 1.6, 1.7, 1.7, 1.6, 1.5, 1.6, 1.7, 1.7,
                   1.5, 1.2, .9, .6, .45, .35, .25, .2])
SIZES = (2, 3, 5, 10)
LENGTHS = (30, 60, 120)


@dataclass(frozen=True)
class Burst:
    scope: tuple[str, str]
    start: int  # slot index
    length: int  # slots
    size: int
    expected: float  # negatives the scope normally gets in one window at that time


@dataclass
class Stream:
    scopes: dict[tuple[str, str], tuple[list[int], list[int], list[float]]]
    bursts: list[Burst]


def _rate_profile() -> np.ndarray:
    """Expected articles per slot over the whole stream (before day-to-day swings)."""
    t = np.arange(WEEKS * 7 * PER_DAY)
    hour = (t % PER_DAY) * STEP // 60
    weekday = (t // PER_DAY) % 7
    hourly = HOURLY / HOURLY.mean()
    weekly = np.where(weekday >= 5, 0.3, 1.0)
    return WEEKDAY_ARTICLES / PER_DAY * hourly[hour] * weekly


def simulate(seed: int, window: int) -> Stream:
    rng = np.random.default_rng(seed)
    base = _rate_profile()
    n = base.size
    days = n // PER_DAY
    vol_day = np.repeat(rng.lognormal(0, 0.15, days), PER_DAY)
    topics, feeds = list(TOPICS), list(FEEDS)
    fshare = np.array(list(FEEDS.values()))
    # cells[topic][feed] = (articles, negatives, weights) arrays
    art = np.zeros((len(topics), len(feeds), n))
    neg = np.zeros_like(art)
    wgt = np.zeros_like(art)
    exp_neg = np.zeros((len(topics), len(feeds), n))
    for i, (vshare, nshare) in enumerate(TOPICS.values()):
        share_day = np.clip(np.repeat(rng.lognormal(0, 0.1, days), PER_DAY) * nshare, 0, 0.9)
        lam = base * vol_day * vshare
        for j in range(len(feeds)):
            exp_neg[i, j] = base * vshare * fshare[j] * nshare
            a = rng.poisson(lam * fshare[j])
            g = rng.binomial(a, share_day)
            art[i, j], neg[i, j] = a, g
            wgt[i, j] = _weights(rng, g)
    bursts = _inject(rng, art, neg, wgt, exp_neg, topics, feeds, window)
    scopes: dict[tuple[str, str], tuple[list[int], list[int], list[float]]] = {}

    def put(key: tuple[str, str], sel: tuple[Any, ...]) -> None:
        scopes[key] = (art[sel].reshape(-1, n).sum(0).astype(int).tolist(),
                       neg[sel].reshape(-1, n).sum(0).astype(int).tolist(),
                       wgt[sel].reshape(-1, n).sum(0).tolist())

    put(("all", "all"), (slice(None), slice(None)))
    for i, t in enumerate(topics):
        put(("topic", t), (i, slice(None)))
    for j, f in enumerate(feeds):
        put(("feed", f), (slice(None), j))
    return Stream(scopes, bursts)


def _weights(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Summed classifier confidence of `counts` negatives per slot (each U(0.55, 1))."""
    total = int(counts.sum())
    idx = np.repeat(np.arange(counts.size), counts.astype(int))
    return np.bincount(idx, weights=rng.uniform(0.55, 1.0, total), minlength=counts.size)


def _inject(rng: np.random.Generator, art: np.ndarray, neg: np.ndarray, wgt: np.ndarray,
            exp_neg: np.ndarray, topics: list[str], feeds: list[str],
            window: int) -> list[Burst]:
    bursts = []
    slots = [(d, lo, hi) for d in range(8, WEEKS * 7) if d % 7 < 5
             for lo, hi in ((6 * 60, 10 * 60 + 30), (14 * 60, 19 * 60))]
    for day, lo, hi in slots:
        start = day * PER_DAY + int(rng.integers(lo // STEP, hi // STEP))
        length = int(rng.choice(LENGTHS)) // STEP
        size = int(rng.choice(SIZES))
        sl = slice(start, start + length)
        if rng.random() < 0.6:
            i = int(rng.integers(len(topics)))
            scope, cells = ("topic", topics[i]), [(i, j) for j in range(len(feeds))]
        else:
            j = int(rng.integers(len(feeds)))
            scope, cells = ("feed", feeds[j]), [(i, j) for i in range(len(topics))]
        expected = 0.0
        for i, j in cells:
            expected += float(exp_neg[i, j, start:start + window // STEP].sum())
            extra = rng.poisson((size - 1) * exp_neg[i, j, sl])
            art[i, j, sl] += extra
            neg[i, j, sl] += extra
            wgt[i, j, sl] += _weights(rng, extra)
        bursts.append(Burst(scope, start, length, size, expected))
    return bursts
