"""Pure burst detection on constructed windows (monitor.alerts.detect)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.detect import ScopeSeries, detect, evaluate, is_burst, poisson_tail
from monitor.alerts.rules import PRESETS, Rule, Thresholds, bucket_minutes_for, rules_from_config
from monitor.config_sections import AlertRuleConfig, AlertsConfig
from monitor.errors import AlertError, ConfigError
from tests.conftest import NOW

B = 10  # bucket minutes for a 30-minute window
DAY = 1440 // B
N = 8 * DAY + 3  # what the job loads: 7 days + 1, plus the window


def rule(preset: str = "medium", scopes: tuple[str, ...] = ("topic",), window: int = 30) -> Rule:
    return Rule("r", scopes, window, PRESETS[preset], 7.0, preset)


def series(value: str = "Energy | Oil", *, articles: int = 6, negative: int = 1,
           conf: float = 0.9, now: datetime = NOW, n: int = N, kind: str = "topic",
           window_extra_negative: int = 0, start: int = 0) -> ScopeSeries:
    """Flat history (articles/negative per bucket from index `start`); extra negatives in the
    last three buckets (the current 30-minute window)."""
    a = [articles if i >= start else 0 for i in range(n)]
    g = [negative if i >= start else 0 for i in range(n)]
    for i in range(n - 3, n):
        a[i] += window_extra_negative // 3
        g[i] += window_extra_negative // 3
    return ScopeSeries(kind, value, now, B, a, g, [x * conf for x in g])


def test_poisson_tail_matches_closed_forms():
    assert poisson_tail(1, 2.0) == pytest.approx(1 - math.exp(-2))
    assert poisson_tail(3, 2.0) == pytest.approx(1 - math.exp(-2) * (1 + 2 + 2))
    assert poisson_tail(0, 5.0) == 1.0
    assert poisson_tail(4, 0.0) == 0.0
    assert poisson_tail(60, 50.0) == pytest.approx(0.0923, abs=2e-3)  # continued-fraction side
    assert poisson_tail(30, 2.0) < 1e-20


def test_flat_series_is_silent():
    flat = [series(), series("Markets", articles=12, negative=3)]
    assert detect(rule("high"), flat, NOW) == []
    evs = evaluate(rule(), flat, NOW)
    assert {e.scope_value for e in evs} == {"Energy | Oil", "Markets"}
    assert all(not e.breached and e.p_value > 0.1 for e in evs)


def test_burst_is_found_with_evidence():
    got = detect(rule(), [series(window_extra_negative=15), series("Markets")], NOW)
    assert [(a.scope_kind, a.scope_value) for a in got] == [("topic", "Energy | Oil")]
    a = got[0]
    assert a.window_negative == 18 and a.window_count == 33
    assert a.expected == pytest.approx(3.0, rel=0.2)  # 1 negative per 5 others, 15 others
    assert a.statistic > 4  # -log10(p)
    assert a.window_start == NOW - timedelta(minutes=30) and a.window_end == NOW
    ev = a.evidence
    assert ev["p_value"] < PRESETS["medium"].max_p_value
    assert ev["baseline"]["seasonal_basis"].startswith("same clock time on")
    assert ev["baseline"]["hours"] > 7 * 24
    assert ev["thresholds"]["min_count"] == PRESETS["medium"].min_count


def test_low_counts_do_not_alarm():
    # A quiet scope (one article an hour, rarely negative) sees three negatives at once:
    # improbable under Poisson, but below the minimum count.
    quiet = [0] * N
    for i in range(0, N, 6):
        quiet[i] = 1
    neg = [1 if i % 60 == 0 else 0 for i in range(N)]
    a = [max(x, y) for x, y in zip(quiet, neg, strict=True)]
    a[-1], neg[-1] = 3, 3
    s = ScopeSeries("feed", "tiny", NOW, B, a, neg, [0.9 * x for x in neg])
    (e,) = evaluate(rule(scopes=("feed",)), [s], NOW)
    assert e.p_value < 1e-3 and e.window_weight < PRESETS["medium"].min_count
    assert not e.breached


def test_min_ratio_guards_busy_scopes():
    # 200 articles per bucket, a quarter negative; the window is 1.5x that: p is tiny
    # because counts are huge, but the ratio stays under 2, so no alert.
    busy = series("Markets", articles=200, negative=50, window_extra_negative=75)
    (e,) = evaluate(rule(), [busy], NOW)
    assert e.p_value < 1e-5
    assert not e.breached


def test_short_history_and_new_scopes_are_not_judged():
    recent = series(window_extra_negative=30, start=N - 30)  # 5 hours of data in total
    assert evaluate(rule(), [recent], NOW) == []
    old = series("Markets")
    new_feed = series("New", start=N - 20, window_extra_negative=30)
    assert [e.scope_value for e in evaluate(rule(), [old, new_feed], NOW)] == ["Markets"]


def test_baseline_knows_weekends():
    saturday = datetime(2026, 10, 31, 14, 30, tzinfo=UTC)
    a, g = [], []
    for i in range(N):
        t = saturday - timedelta(minutes=B * (N - i))
        weekend = t.weekday() >= 5
        a.append(2 if weekend else 20)
        g.append(0 if (i % 4) else 1 if weekend else 5)
    s = ScopeSeries("topic", "Macro", saturday, B, a, g, [0.9 * x for x in g])
    (e,) = evaluate(rule(), [s], saturday)
    assert "2 prior similar days" in e.baseline["seasonal_basis"]
    # Weekend slots hold about 2 * 3 non-negative articles per window, weekdays ten times more.
    assert e.baseline["seasonal_non_negative"] < 10


def test_thresholds_each_matter():
    t = Thresholds(max_p_value=1e-3, min_count=4, min_ratio=2)
    assert is_burst(t, 10, 2, 1e-4)
    assert not is_burst(t, 10, 2, 1e-2)
    assert not is_burst(t, 3, 0.5, 1e-4)
    assert not is_burst(t, 10, 6, 1e-4)


def test_mismatched_histories_are_refused():
    with pytest.raises(AlertError, match="same length"):
        evaluate(rule(), [series(), series(n=N - 1)], NOW)
    with pytest.raises(AlertError, match="ends at"):
        evaluate(rule(), [series(now=NOW - timedelta(minutes=10))], NOW)


def test_rules_from_config_fill_presets_and_overrides():
    cfg = AlertsConfig(rules=(AlertRuleConfig(name="oil", scopes=("topic",), window_minutes=45,
                                              preset="high", min_count=9),))
    (r,) = rules_from_config(cfg)
    assert r.window_minutes == 45 and r.bucket_minutes == 9
    assert r.thresholds == Thresholds(PRESETS["high"].max_p_value, 9, PRESETS["high"].min_ratio)
    assert [x.name for x in rules_from_config(AlertsConfig())] == ["market", "topics", "feeds"]
    assert bucket_minutes_for(30) == 10 and bucket_minutes_for(7) == 1
    with pytest.raises(ConfigError, match="window_minutes"):
        rules_from_config(AlertsConfig(window_minutes=2.5))
