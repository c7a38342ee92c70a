"""Alert rules: sensitivity presets (low / medium / high) resolved with per-rule thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from monitor.config_sections import AlertsConfig
from monitor.errors import ConfigError


@dataclass(frozen=True)
class Thresholds:
    """When a window counts as a burst: all three must hold."""

    max_p_value: float  # Poisson upper-tail probability of the weighted negative count
    min_count: float  # confidence-weighted negatives in the window
    min_ratio: float  # observed / expected


# Tuned on benchmarks/alerts.py (simulated streams only, 30-minute windows evaluated every
# 10 minutes): "medium" catches every 3x burst in scopes that normally see >= 10 negatives
# per window at about 0.4 false alerts per simulated week; "low" gave none, "high" about 2.
PRESETS: dict[str, Thresholds] = {
    "low": Thresholds(max_p_value=1e-6, min_count=6.0, min_ratio=3.0),
    "medium": Thresholds(max_p_value=3e-5, min_count=4.0, min_ratio=2.0),
    "high": Thresholds(max_p_value=3e-4, min_count=3.0, min_ratio=1.5),
}


@dataclass(frozen=True)
class Rule:
    """One resolved detection rule."""

    name: str
    scopes: tuple[str, ...]
    window_minutes: int
    thresholds: Thresholds
    baseline_days: float
    preset: str

    @property
    def bucket_minutes(self) -> int:
        return bucket_minutes_for(self.window_minutes)


def bucket_minutes_for(window_minutes: int) -> int:
    """The bucket size used to count a rule's history: divides both its window and a day.

    At most 10 minutes, so that the time-of-day slots are fine enough and a window can be
    evaluated every few minutes; a week of history is then about a thousand buckets.
    """
    g = gcd(window_minutes, 1440)
    return max(d for d in range(1, min(g, 10) + 1) if g % d == 0)


def _window(value: float, rule: str) -> int:
    if value != int(value) or not 5 <= value <= 720:
        raise ConfigError(f"alerts rule {rule!r}: window_minutes must be a whole number of "
                          f"minutes between 5 and 720, got {value}")
    return int(value)


def rules_from_config(cfg: AlertsConfig) -> tuple[Rule, ...]:
    """The configured rules with presets and defaults filled in."""
    out = []
    for r in cfg.rules:
        preset = r.preset or cfg.preset
        base = PRESETS[preset]
        t = Thresholds(max_p_value=r.max_p_value or base.max_p_value,
                       min_count=r.min_count or base.min_count,
                       min_ratio=r.min_ratio or base.min_ratio)
        window = _window(r.window_minutes or cfg.window_minutes, r.name)
        out.append(Rule(name=r.name, scopes=tuple(r.scopes), window_minutes=window,
                        thresholds=t, baseline_days=cfg.baseline_days, preset=preset))
    return tuple(out)
