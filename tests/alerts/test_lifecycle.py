"""Pure lifecycle decisions (monitor.alerts.lifecycle): pending, firing, resolved, and friends."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.lifecycle import Action, OpenAlert, Timing, plan
from monitor.types import Alert
from tests.conftest import NOW

OIL = ("topic", "Energy | Oil")
T = Timing(for_minutes=10, cooldown_minutes=60, repeat_minutes=240, notify_resolved=True)


def cand(scope: tuple[str, str] = OIL) -> Alert:
    return Alert("topics", scope[0], scope[1], 5.0, 20, 14.0, 2.1,
                 NOW - timedelta(minutes=30), NOW)


def opened(state: str, *, started: int = 0, breached: int = 0, fired: int | None = None,
           notified: int | None = None, acked: bool = False, scope=OIL) -> OpenAlert:
    """An open alert; times are minutes before NOW."""
    def ago(m: int | None):
        return None if m is None else NOW - timedelta(minutes=m)
    return OpenAlert(7, scope[0], scope[1], state, ago(started), ago(breached), ago(fired),
                     ago(notified), NOW if acked else None)


def actions(steps):
    return [(s.action, s.notify) for s in steps]


def test_new_burst_waits_for_the_for_period_then_fires():
    assert actions(plan([cand()], [], {}, (), T, NOW)) == [(Action.OPEN_PENDING, None)]
    early = plan([cand()], [opened("pending", started=5)], {}, (), T, NOW)
    assert actions(early) == [(Action.UPDATE, None)]
    due = plan([cand()], [opened("pending", started=10)], {}, (), T, NOW)
    assert actions(due) == [(Action.FIRE, "firing")] and due[0].alert_id == 7


def test_without_for_period_it_fires_at_once():
    steps = plan([cand()], [], {}, (), Timing(for_minutes=0), NOW)
    assert actions(steps) == [(Action.OPEN_FIRING, "firing")]


def test_pending_that_stops_is_dropped_silently():
    assert actions(plan([], [opened("pending", started=5)], {}, (), T, NOW)) == [
        (Action.DROP, None)]


def test_resolves_when_the_burst_ends_after_the_for_period():
    firing = opened("firing", started=60, fired=50, notified=50, breached=5)
    assert plan([], [firing], {}, (), T, NOW) == []  # a short dip does not resolve
    gone = opened("firing", started=60, fired=50, notified=50, breached=10)
    assert actions(plan([], [gone], {}, (), T, NOW)) == [(Action.RESOLVE, "resolved")]
    quiet = Timing(for_minutes=10, notify_resolved=False)
    assert actions(plan([], [gone], {}, (), quiet, NOW)) == [(Action.RESOLVE, None)]


def test_repeat_interval_and_acknowledgement():
    recent = opened("firing", started=100, fired=100, notified=100)
    assert actions(plan([cand()], [recent], {}, (), T, NOW)) == [(Action.UPDATE, None)]
    stale = opened("firing", started=300, fired=300, notified=240)
    assert actions(plan([cand()], [stale], {}, (), T, NOW)) == [(Action.REPEAT, "firing")]
    acked = opened("firing", started=300, fired=300, notified=240, acked=True)
    assert actions(plan([cand()], [acked], {}, (), T, NOW)) == [(Action.UPDATE, None)]
    never = Timing(for_minutes=10, repeat_minutes=0)
    assert actions(plan([cand()], [stale], {}, (), never, NOW)) == [(Action.UPDATE, None)]


def test_cooldown_after_a_fired_alert():
    just = {OIL: NOW - timedelta(minutes=30)}
    assert plan([cand()], [], just, (), T, NOW) == []
    later = {OIL: NOW - timedelta(minutes=61)}
    assert actions(plan([cand()], [], later, (), T, NOW)) == [(Action.OPEN_PENDING, None)]


def test_silences_are_respected():
    assert plan([cand()], [], {}, {OIL}, T, NOW) == []
    pending = opened("pending", started=20)
    assert actions(plan([cand()], [pending], {}, {OIL}, T, NOW)) == [(Action.DROP, None)]
    stale = opened("firing", started=300, fired=300, notified=240)
    assert actions(plan([cand()], [stale], {}, {OIL}, T, NOW)) == [(Action.UPDATE, None)]
    gone = opened("firing", started=60, fired=50, breached=20)
    assert actions(plan([], [gone], {}, {OIL}, T, NOW)) == [(Action.RESOLVE, None)]
    other = ("feed", "wire")
    assert actions(plan([cand(other)], [], {}, {OIL}, T, NOW)) == [(Action.OPEN_PENDING, None)]


def test_one_open_alert_per_rule_and_scope():
    steps = plan([cand(), cand(), cand(("all", "all"))], [opened("pending", started=3)], {}, (),
                 T, NOW)
    assert sorted((s.scope, s.action) for s in steps) == [
        (("all", "all"), Action.OPEN_PENDING), (OIL, Action.UPDATE)]
