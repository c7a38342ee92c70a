"""Alert lifecycle (pure): pending -> firing -> resolved, cooldown, repeats, silences, acks.

One open (pending or firing) alert per rule and scope. A candidate from detection opens a
pending alert; it fires once the burst has lasted ``for_minutes`` (at once when that is 0).
A firing alert resolves when the burst has been absent for ``for_minutes``; a pending one
that stops being a burst is dropped without a notification. After a fired alert resolves,
the same rule and scope stay quiet for ``cooldown_minutes``. An unacknowledged firing alert
is notified again every ``repeat_minutes``. A silenced scope opens no alert and sends no
notification until the silence ends. `plan` decides; the job applies the plan in the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.config_sections import AlertsConfig
from monitor.types import Alert

ScopeKey = tuple[str, str]  # (scope_kind, scope_value)


class Action(StrEnum):
    OPEN_PENDING = "open_pending"  # new alert, waiting for its for-period
    OPEN_FIRING = "open_firing"  # new alert that fires at once (for_minutes = 0)
    FIRE = "fire"  # pending -> firing
    UPDATE = "update"  # still a burst: refresh evidence
    REPEAT = "repeat"  # still firing, unacknowledged, repeat interval passed: notify again
    RESOLVE = "resolve"  # firing -> resolved
    DROP = "drop"  # pending that never fired -> resolved, no notification


@dataclass(frozen=True)
class Timing:
    """The lifecycle's knobs, in minutes."""

    for_minutes: float = 0.0
    cooldown_minutes: float = 60.0
    repeat_minutes: float = 240.0
    notify_resolved: bool = True

    @classmethod
    def from_config(cls, cfg: AlertsConfig) -> Timing:
        return cls(cfg.for_minutes, cfg.cooldown_minutes, cfg.repeat_minutes,
                   cfg.notify_resolved)


@dataclass(frozen=True)
class OpenAlert:
    """What the lifecycle needs to know of a stored pending or firing alert."""

    id: int
    scope_kind: str
    scope_value: str
    state: str  # "pending" | "firing"
    started_at: datetime
    last_breached_at: datetime  # the store's last_evaluated_at: last time it was a burst
    fired_at: datetime | None = None
    last_notified_at: datetime | None = None
    acknowledged_at: datetime | None = None

    @property
    def key(self) -> ScopeKey:
        return (self.scope_kind, self.scope_value)


@dataclass(frozen=True)
class Transition:
    """One step to apply: what happens to which alert, and which event to notify (if any)."""

    action: Action
    scope: ScopeKey
    alert_id: int | None = None
    candidate: Alert | None = None
    notify: str | None = None  # "firing" | "resolved" | None


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _for_candidate(c: Alert, open_: OpenAlert | None, recent_fired_end: datetime | None,
                   silenced: bool, t: Timing, now: datetime) -> Transition | None:
    key = (c.scope_kind, c.scope_value)
    if open_ is None:
        if silenced:
            return None
        if recent_fired_end is not None and _minutes(now - recent_fired_end) < t.cooldown_minutes:
            return None
        if t.for_minutes <= 0:
            return Transition(Action.OPEN_FIRING, key, candidate=c, notify="firing")
        return Transition(Action.OPEN_PENDING, key, candidate=c)
    if open_.state == "pending":
        if silenced:
            return Transition(Action.DROP, key, open_.id)
        if _minutes(now - open_.started_at) >= t.for_minutes:
            return Transition(Action.FIRE, key, open_.id, c, notify="firing")
        return Transition(Action.UPDATE, key, open_.id, c)
    last = open_.last_notified_at or open_.fired_at or open_.started_at
    if (t.repeat_minutes > 0 and not silenced and open_.acknowledged_at is None
            and _minutes(now - last) >= t.repeat_minutes):
        return Transition(Action.REPEAT, key, open_.id, c, notify="firing")
    return Transition(Action.UPDATE, key, open_.id, c)


def _without_candidate(open_: OpenAlert, silenced: bool, t: Timing,
                       now: datetime) -> Transition | None:
    if open_.state == "pending":
        return Transition(Action.DROP, open_.key, open_.id)
    if _minutes(now - open_.last_breached_at) < t.for_minutes:
        return None  # a short dip inside a burst does not resolve it
    notify = "resolved" if t.notify_resolved and not silenced else None
    return Transition(Action.RESOLVE, open_.key, open_.id, notify=notify)


def plan(candidates: Sequence[Alert], open_alerts: Sequence[OpenAlert],
         last_fired_end: Mapping[ScopeKey, datetime], silenced: Collection[ScopeKey],
         timing: Timing, now: datetime) -> list[Transition]:
    """The transitions of one rule's alerts at `now`.

    candidates: this rule's detections now; open_alerts: its stored pending/firing alerts;
    last_fired_end: per scope, when its latest FIRED alert resolved (for the cooldown);
    silenced: the scopes under a silence at `now`.
    """
    by_scope = {a.key: a for a in open_alerts}
    out: list[Transition] = []
    seen: set[ScopeKey] = set()
    for c in candidates:
        key = (c.scope_kind, c.scope_value)
        if key in seen:
            continue
        seen.add(key)
        step = _for_candidate(c, by_scope.get(key), last_fired_end.get(key), key in silenced,
                              timing, now)
        if step is not None:
            out.append(step)
    for key, open_ in by_scope.items():
        if key not in seen:
            step = _without_candidate(open_, key in silenced, timing, now)
            if step is not None:
                out.append(step)
    return out

