"""The alert job replayed over a simulated stream: detector verdicts per step, then firings.

The pure detector (monitor.alerts.detect) sees what the job loads at each evaluation; the
lifecycle (monitor.alerts.lifecycle) runs on those verdicts with an in-memory store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from _alerts_streams import HISTORY, HISTORY_DAYS, PER_DAY, START, STEP, WEEKS, Stream

from monitor.alerts.detect import ScopeSeries, evaluate
from monitor.alerts.lifecycle import Action, OpenAlert, Timing, Transition, plan
from monitor.alerts.rules import Rule
from monitor.types import Alert


@dataclass(frozen=True)
class Verdict:
    x: float
    expected: float
    p: float
    negative: int


Key = tuple[str, str, str]  # (rule, scope_kind, scope_value)


def evaluate_stream(stream: Stream, rules: tuple[Rule, ...],
                    every: int) -> dict[int, dict[Key, Verdict]]:
    """Per evaluation step (slot index of `now`, every `every` minutes): (rule, scope) ->
    Verdict.

    As the job does: the window ends at `now`, and the history is counted in the rule's
    buckets back from `now` (load_series), so bucket edges move with the clock; with `every`
    equal to the bucket, `now` falls on bucket boundaries only (the job before 2026-12).
    """
    sums = {key: [np.concatenate(([0], np.cumsum(a))), np.concatenate(([0], np.cumsum(g))),
                  np.concatenate(([0.0], np.cumsum(x)))]
            for key, (a, g, x) in stream.scopes.items()}
    total = WEEKS * 7 * PER_DAY
    first = HISTORY + max(r.window_minutes for r in rules) // STEP
    out: dict[int, dict[Key, Verdict]] = {}
    for end in range(first, total + 1):
        if (end * STEP) % every:
            continue
        now = START + timedelta(minutes=end * STEP)
        verdicts = {}
        for rule in rules:
            per, rest = divmod(rule.bucket_minutes, STEP)
            assert not rest, "the simulated slot must divide every rule's bucket"
            n = (HISTORY_DAYS * 1440 + rule.window_minutes) // rule.bucket_minutes
            edges = end - per * np.arange(n, -1, -1)

            def buckets(cs: np.ndarray, edges: np.ndarray = edges) -> list[Any]:
                return (cs[edges[1:]] - cs[edges[:-1]]).tolist()  # ints stay ints

            series = [ScopeSeries(k, v, now, rule.bucket_minutes, buckets(a), buckets(g),
                                  buckets(x))
                      for (k, v), (a, g, x) in sums.items() if k in rule.scopes]
            for e in evaluate(rule, series, now):
                verdicts[(rule.name, e.scope_kind, e.scope_value)] = Verdict(
                    e.window_weight, e.expected, e.p_value, e.window_negative)
        out[end] = verdicts
    return out


def firings(verdicts: dict[int, dict[Key, Verdict]], decide: Callable[[Verdict], bool],
            timing: Timing) -> list[tuple[int, int, Key]]:
    """Run the lifecycle, rule by rule, over the steps: (fired, resolved, key) per alert."""
    out = []
    last = max(verdicts) + 1
    for rule in sorted({k[0] for v in verdicts.values() for k in v}):
        open_: dict[tuple[str, str], OpenAlert] = {}
        fired_end: dict[tuple[str, str], datetime] = {}
        fired_at: dict[tuple[str, str], int] = {}
        for end in sorted(verdicts):
            now = START + timedelta(minutes=end * STEP)
            cands = [Alert(rule, k[1], k[2], 0.0, 0, 0.0, 0.0, now, now)
                     for k, v in verdicts[end].items() if k[0] == rule and decide(v)]
            for tr in plan(cands, list(open_.values()), fired_end, (), timing, now):
                _apply(tr, open_, fired_end, now)
                if tr.action in (Action.OPEN_FIRING, Action.FIRE):
                    fired_at[tr.scope] = end
                elif tr.action is Action.RESOLVE:
                    out.append((fired_at.pop(tr.scope), end, (rule, *tr.scope)))
        out.extend((start, last, (rule, *scope)) for scope, start in fired_at.items())
    return out


def _apply(tr: Transition, open_: dict[tuple[str, str], OpenAlert],
           fired_end: dict[tuple[str, str], datetime], now: datetime) -> None:
    """The in-memory twin of the job's store updates."""
    key = tr.scope
    if tr.action in (Action.OPEN_PENDING, Action.OPEN_FIRING):
        firing = tr.action is Action.OPEN_FIRING
        open_[key] = OpenAlert(0, key[0], key[1], "firing" if firing else "pending", now, now,
                               now if firing else None, now if firing else None)
    elif tr.action is Action.FIRE:
        open_[key] = replace(open_[key], state="firing", fired_at=now, last_breached_at=now,
                             last_notified_at=now)
    elif tr.action is Action.UPDATE:
        open_[key] = replace(open_[key], last_breached_at=now)
    elif tr.action is Action.REPEAT:
        open_[key] = replace(open_[key], last_breached_at=now, last_notified_at=now)
    elif tr.action is Action.RESOLVE:
        fired_end[key] = now
        del open_[key]
    elif tr.action is Action.DROP:
        del open_[key]
