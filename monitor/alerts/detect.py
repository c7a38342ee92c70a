"""Burst detection (pure): bucketed scope histories and `now` in, candidate alerts out.

For each scope the current window ``[now - window, now)`` is compared with the recent past:

- observed ``x``: the confidence-weighted negative count in the window (the sum of the
  classifier's confidence over negative-labelled articles, see monitor/store/stats.py);
- exposure: how many NON-negative articles the window would normally hold: a time-of-day
  estimate, the mean count in the same clock-time slot (widened by an hour each side) on
  prior days of the same kind (weekday / weekend) when two or more exist, else on any prior
  day, else the overall rate; raised to the observed count less two Poisson standard
  deviations when volume clearly surges (a busy news day raises the bar). Non-negative
  articles are used because a negative burst does not inflate them;
- ratio: weighted negatives per non-negative article over the baseline period, shrunk toward
  the ratio pooled over every scope of the rule (so a quiet scope borrows strength);
- expected ``lambda = ratio * exposure`` and the Poisson upper tail ``p = P(X >= x)``, both
  divided by the mean negative confidence so that the weighted count is tested as the
  effective number of articles it stands for.

A window is a burst when ``p <= max_p_value`` and ``x >= min_count`` and ``x >= min_ratio *
lambda``; the minimum count keeps one or two stray headlines at night from alarming.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.rules import Rule, Thresholds
from monitor.errors import AlertError
from monitor.types import Alert

MIN_HISTORY_MINUTES = 360  # less baseline than this and a scope is not judged at all
PAD_MINUTES = 60  # the time-of-day slot on prior days is widened by this much each side
PRIOR_WEIGHT = 10.0  # pseudo non-negative articles carrying the pooled ratio


@dataclass(frozen=True)
class ScopeSeries:
    """Bucketed history of one scope; the last bucket ends at `end` (the evaluation time).

    All series handed to one evaluation share `end`, `bucket_minutes` and length.
    """

    scope_kind: str
    scope_value: str
    end: datetime
    bucket_minutes: int
    articles: Sequence[int]  # scored articles per bucket, oldest first
    negative: Sequence[int]  # negative-labelled articles per bucket
    negative_weight: Sequence[float]  # their summed confidence per bucket


@dataclass(frozen=True)
class Evaluation:
    """The verdict on one scope's current window, with the numbers behind it."""

    scope_kind: str
    scope_value: str
    window_count: int
    window_negative: int
    window_weight: float
    expected: float  # expected weighted negatives
    expected_count: float  # expected negative articles (for messages)
    p_value: float
    breached: bool
    baseline: dict[str, Any]


def poisson_tail(x: float, lam: float) -> float:
    """P(X >= x) for X ~ Poisson(lam), continuous in x (the regularised lower gamma P(x, lam))."""
    if x <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_front = -lam + x * math.log(lam) - math.lgamma(x)
    if lam < x + 1:  # series for P(x, lam): accurate in the tail we care about
        term = total = 1.0 / x
        n = 1
        while term > total * 1e-15 and n < 10_000:
            term *= lam / (x + n)
            total += term
            n += 1
        return min(1.0, math.exp(log_front) * total)
    # Continued fraction (Lentz) for Q(x, lam); P = 1 - Q.
    tiny = 1e-300
    b = lam + 1.0 - x
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - x)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def is_burst(t: Thresholds, observed: float, expected: float, p_value: float) -> bool:
    """The decision: all three thresholds hold."""
    return (p_value <= t.max_p_value and observed >= t.min_count
            and observed >= t.min_ratio * expected)


def _check(rule: Rule, series: Sequence[ScopeSeries], now: datetime) -> int:
    lengths = {len(s.articles) for s in series}
    if len(lengths) != 1:
        raise AlertError("scope histories of one evaluation must have the same length")
    for s in series:
        if s.end != now or s.bucket_minutes != rule.bucket_minutes:
            raise AlertError(f"history of {s.scope_kind} {s.scope_value!r} ends at {s.end} in "
                             f"{s.bucket_minutes}-min buckets; expected {now} and "
                             f"{rule.bucket_minutes}-min buckets for rule {rule.name!r}")
        if not len(s.negative) == len(s.negative_weight) == len(s.articles):
            raise AlertError(f"history of {s.scope_kind} {s.scope_value!r} is ragged")
    return lengths.pop()


def _first_data_index(series: Sequence[ScopeSeries], n: int) -> int:
    for i in range(n):
        if any(s.articles[i] for s in series):
            return i
    return n


def _is_weekend(t: datetime) -> bool:
    return t.weekday() >= 5


def _seasonal_exposure(s: ScopeSeries, n: int, w: int, h0: int, b: int, days: int,
                       mid: datetime) -> tuple[float | None, str]:
    """Mean non-negative count in the same clock-time slot on prior days (scaled to w)."""
    per_day, pad = 1440 // b, PAD_MINUTES // b
    same: list[float] = []
    other: list[float] = []
    for d in range(1, days + 1):
        lo, hi = n - w - d * per_day - pad, n - d * per_day + pad
        if lo < h0:
            break
        count = (sum(s.articles[lo:hi]) - sum(s.negative[lo:hi])) * w / (w + 2 * pad)
        kind = _is_weekend(mid - timedelta(days=d)) == _is_weekend(mid)
        (same if kind else other).append(count)
    if len(same) >= 2:
        return sum(same) / len(same), f"same clock time on {len(same)} prior similar days"
    if same or other:
        both = same + other
        return sum(both) / len(both), f"same clock time on {len(both)} prior days"
    return None, "overall rate"


def _pooled_ratio(series: Sequence[ScopeSeries], h0: int, end: int) -> float:
    weight = sum(sum(s.negative_weight[h0:end]) for s in series)
    nonneg = sum(sum(s.articles[h0:end]) - sum(s.negative[h0:end]) for s in series)
    return (weight + 1.0) / (nonneg + 3.0)  # a weak prior of one negative in four


def evaluate(rule: Rule, series: Sequence[ScopeSeries], now: datetime) -> list[Evaluation]:
    """Judge the current window of every scope against its own recent past.

    Scopes whose own history (from their first article before the window) is shorter than
    MIN_HISTORY_MINUTES are not judged, so a new feed's first fetch does not alarm.
    """
    if not series:
        return []
    n = _check(rule, series, now)
    b, w = rule.bucket_minutes, rule.window_minutes // rule.bucket_minutes
    h0 = _first_data_index(series, n)
    base_end = n - w
    if (base_end - h0) * b < MIN_HISTORY_MINUTES:
        return []
    prior = _pooled_ratio(series, h0, base_end)
    mid = now - timedelta(minutes=rule.window_minutes / 2)
    days = int(rule.baseline_days)
    out = []
    for s in series:
        # A scope is judged on its own history only: a feed added an hour ago has none.
        own = _first_data_index([s], base_end)
        if (base_end - own) * b >= MIN_HISTORY_MINUTES:
            out.append(_evaluate_one(rule, s, prior, own, w, days, mid))
    return out


def _evaluate_one(rule: Rule, s: ScopeSeries, prior: float, h0: int, w: int, days: int,
                  mid: datetime) -> Evaluation:
    n, b = len(s.articles), s.bucket_minutes
    base_end = n - w
    base_articles = sum(s.articles[h0:base_end])
    base_negative = sum(s.negative[h0:base_end])
    base_nonneg = base_articles - base_negative
    base_weight = sum(s.negative_weight[h0:base_end])
    ratio_w = (base_weight + PRIOR_WEIGHT * prior) / (base_nonneg + PRIOR_WEIGHT)
    mean_conf = base_weight / base_negative if base_negative else 0.85
    seasonal, how = _seasonal_exposure(s, n, w, h0, b, days, mid)
    if seasonal is None:
        seasonal = base_nonneg * w / (base_end - h0)
    observed_nonneg = sum(s.articles[base_end:]) - sum(s.negative[base_end:])
    # Raise the exposure only for a clear surge in volume (beyond two Poisson sds).
    exposure = max(seasonal, observed_nonneg - 2.0 * math.sqrt(observed_nonneg))
    expected = max(ratio_w * exposure, 1e-6)
    x = sum(s.negative_weight[base_end:])
    # A sum of confidences is over-dispersed-free but not Poisson: scaling by the mean
    # confidence gives the matching effective count (compound-Poisson moment matching).
    scale = max(mean_conf, 0.05)
    p = poisson_tail(x / scale, expected / scale)
    breached = is_burst(rule.thresholds, x, expected, p)
    return Evaluation(
        scope_kind=s.scope_kind, scope_value=s.scope_value,
        window_count=sum(s.articles[base_end:]), window_negative=sum(s.negative[base_end:]),
        window_weight=x, expected=expected, expected_count=expected / scale,
        p_value=p, breached=breached,
        baseline={"hours": round((base_end - h0) * b / 60, 2), "articles": base_articles,
                  "negative": base_negative, "negative_weight": round(base_weight, 3),
                  "ratio": round(ratio_w, 5), "exposure": round(exposure, 3),
                  "observed_non_negative": observed_nonneg,
                  "seasonal_non_negative": round(seasonal, 3), "seasonal_basis": how})


def detect(rule: Rule, series: Sequence[ScopeSeries], now: datetime) -> list[Alert]:
    """Candidate alerts: the scopes whose current window is a burst under the rule."""
    start = now - timedelta(minutes=rule.window_minutes)
    return [to_alert(rule, e, start, now) for e in evaluate(rule, series, now) if e.breached]


def to_alert(rule: Rule, e: Evaluation, start: datetime, end: datetime) -> Alert:
    statistic = -math.log10(max(e.p_value, 1e-300))  # surprise: 4 means p = 1e-4
    evidence = {"p_value": e.p_value, "window_minutes": rule.window_minutes,
                "window_weight": round(e.window_weight, 3),
                "expected_weight": round(e.expected, 3), "preset": rule.preset,
                "thresholds": {"max_p_value": rule.thresholds.max_p_value,
                               "min_count": rule.thresholds.min_count,
                               "min_ratio": rule.thresholds.min_ratio},
                "baseline": e.baseline}
    return Alert(rule=rule.name, scope_kind=e.scope_kind, scope_value=e.scope_value,
                 statistic=round(statistic, 3), window_count=e.window_count,
                 window_negative=float(e.window_negative), expected=round(e.expected_count, 3),
                 window_start=start, window_end=end, evidence=evidence)
