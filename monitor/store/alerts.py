"""SQL for alerts, their per-channel deliveries, and silences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from monitor.store.schema import alert_deliveries, alerts, silences
from monitor.types import Alert

OPEN_STATES = ("pending", "firing")
RETRY_STATES = ("pending", "failing")


@dataclass(frozen=True)
class AlertRow:
    """A stored alert."""

    id: int
    rule: str
    scope_kind: str
    scope_value: str
    state: str
    started_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    last_evaluated_at: datetime  # the last time its scope was a burst
    last_notified_at: datetime | None  # the last time a firing notification was queued
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    statistic: float
    window_count: int
    window_negative: float
    expected: float
    summary: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class DeliveryRow:
    """One alert's notification for one channel and event, with its delivery state."""

    id: int
    alert_id: int
    channel: str
    event: str
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SilenceRow:
    id: int
    scope_kind: str
    scope_value: str
    until: datetime
    reason: str | None
    created_by: str | None
    created_at: datetime


def _alert_row(r: Any) -> AlertRow:
    return AlertRow(**{f: getattr(r, f) for f in AlertRow.__dataclass_fields__})


def _delivery_row(r: Any) -> DeliveryRow:
    return DeliveryRow(**{f: getattr(r, f) for f in DeliveryRow.__dataclass_fields__})


def _figures(a: Alert, summary: str) -> dict[str, Any]:
    return {"statistic": a.statistic, "window_count": a.window_count,
            "window_negative": a.window_negative, "expected": a.expected, "summary": summary,
            "evidence": a.evidence}


def open_alerts(conn: Connection, rule: str | None = None) -> list[AlertRow]:
    """Pending and firing alerts (of one rule when given)."""
    q = select(alerts).where(alerts.c.state.in_(OPEN_STATES))
    if rule is not None:
        q = q.where(alerts.c.rule == rule)
    return [_alert_row(r) for r in conn.execute(q.order_by(alerts.c.id))]


def last_fired_resolutions(conn: Connection, rule: str) -> dict[tuple[str, str], datetime]:
    """Per scope, when the rule's latest alert that had fired was resolved (for cooldowns)."""
    q = (select(alerts.c.scope_kind, alerts.c.scope_value, func.max(alerts.c.resolved_at))
         .where(alerts.c.rule == rule, alerts.c.state == "resolved",
                alerts.c.fired_at.is_not(None))
         .group_by(alerts.c.scope_kind, alerts.c.scope_value))
    return {(k, v): t for k, v, t in conn.execute(q) if t is not None}


def insert_alert(conn: Connection, a: Alert, *, state: str, summary: str,
                 now: datetime) -> int:
    """A new pending or firing alert; firing ones count as notified now."""
    fired = now if state == "firing" else None
    result = conn.execute(insert(alerts).values(
        rule=a.rule, scope_kind=a.scope_kind, scope_value=a.scope_value, state=state,
        started_at=now, fired_at=fired, last_evaluated_at=now, last_notified_at=fired,
        **_figures(a, summary)))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def refresh_alert(conn: Connection, alert_id: int, a: Alert, *, summary: str, now: datetime,
                  fire: bool = False, notified: bool = False) -> None:
    """Still a burst: new evidence; optionally pending -> firing, or a repeat notification."""
    values: dict[str, Any] = {"last_evaluated_at": now, **_figures(a, summary)}
    if fire:
        values.update(state="firing", fired_at=now)
    if fire or notified:
        values["last_notified_at"] = now
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def close_alert(conn: Connection, alert_id: int, now: datetime) -> None:
    """firing -> resolved, or a pending alert that never fired -> resolved (fired_at stays NULL)."""
    conn.execute(update(alerts).where(alerts.c.id == alert_id)
                 .values(state="resolved", resolved_at=now))


def get_alert(conn: Connection, alert_id: int) -> AlertRow | None:
    r = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return None if r is None else _alert_row(r)


def get_alerts(conn: Connection, ids: Sequence[int]) -> dict[int, AlertRow]:
    rows = conn.execute(select(alerts).where(alerts.c.id.in_(list(ids))))
    return {int(r.id): _alert_row(r) for r in rows}


def list_alerts(conn: Connection, *, include_resolved: bool = False,
                limit: int = 100) -> list[AlertRow]:
    """Newest first; without include_resolved only pending and firing ones."""
    q = select(alerts)
    if not include_resolved:
        q = q.where(alerts.c.state.in_(OPEN_STATES))
    q = q.order_by(alerts.c.started_at.desc(), alerts.c.id.desc()).limit(limit)
    return [_alert_row(r) for r in conn.execute(q)]


def acknowledge_alert(conn: Connection, alert_id: int, now: datetime,
                      by: str | None = None) -> bool:
    """Mark an alert acknowledged (no repeat notifications); False when no such alert."""
    result = conn.execute(update(alerts).where(alerts.c.id == alert_id)
                          .values(acknowledged_at=now, acknowledged_by=by))
    return bool(result.rowcount)


def queue_deliveries(conn: Connection, alert_id: int, channels: Sequence[str], event: str,
                     now: datetime) -> None:
    """Pending delivery rows for an event; an existing row (a repeat) is queued again."""
    for channel in channels:
        key = and_(alert_deliveries.c.alert_id == alert_id,
                   alert_deliveries.c.channel == channel, alert_deliveries.c.event == event)
        again = conn.execute(update(alert_deliveries).where(key).values(
            state="pending", attempts=0, last_error=None, next_attempt_at=now))
        if not again.rowcount:
            conn.execute(insert(alert_deliveries).values(
                alert_id=alert_id, channel=channel, event=event, state="pending", attempts=0,
                next_attempt_at=now, created_at=now))


def due_deliveries(conn: Connection, now: datetime, limit: int = 500) -> list[DeliveryRow]:
    """Pending or failing deliveries whose next attempt has come, oldest first."""
    q = (select(alert_deliveries)
         .where(alert_deliveries.c.state.in_(RETRY_STATES),
                or_(alert_deliveries.c.next_attempt_at.is_(None),
                    alert_deliveries.c.next_attempt_at <= now))
         .order_by(alert_deliveries.c.id).limit(limit))
    return [_delivery_row(r) for r in conn.execute(q)]


def claim_delivery(conn: Connection, delivery_id: int, now: datetime, until: datetime) -> bool:
    """Take a due delivery for sending until `until`; False when another process has it."""
    result = conn.execute(update(alert_deliveries).where(
        alert_deliveries.c.id == delivery_id, alert_deliveries.c.state.in_(RETRY_STATES),
        or_(alert_deliveries.c.next_attempt_at.is_(None),
            alert_deliveries.c.next_attempt_at <= now)).values(next_attempt_at=until))
    return bool(result.rowcount)


def mark_sent(conn: Connection, delivery_ids: Sequence[int], now: datetime) -> None:
    conn.execute(update(alert_deliveries).where(alert_deliveries.c.id.in_(list(delivery_ids)))
                 .values(state="sent", sent_at=now, last_error=None, next_attempt_at=None,
                         attempts=alert_deliveries.c.attempts + 1))


def mark_failing(conn: Connection, delivery_id: int, error: str,
                 next_attempt_at: datetime) -> None:
    conn.execute(update(alert_deliveries).where(alert_deliveries.c.id == delivery_id)
                 .values(state="failing", last_error=error[:2000],
                         next_attempt_at=next_attempt_at,
                         attempts=alert_deliveries.c.attempts + 1))


def deliveries_of(conn: Connection, alert_id: int) -> list[DeliveryRow]:
    q = (select(alert_deliveries).where(alert_deliveries.c.alert_id == alert_id)
         .order_by(alert_deliveries.c.id))
    return [_delivery_row(r) for r in conn.execute(q)]


def add_silence(conn: Connection, scope_kind: str, scope_value: str, until: datetime,
                now: datetime, *, reason: str | None = None, by: str | None = None) -> int:
    result = conn.execute(insert(silences).values(
        scope_kind=scope_kind, scope_value=scope_value, until=until, reason=reason,
        created_by=by, created_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def active_silences(conn: Connection, now: datetime) -> list[SilenceRow]:
    q = select(silences).where(silences.c.until > now).order_by(silences.c.until)
    return [SilenceRow(**{f: getattr(r, f) for f in SilenceRow.__dataclass_fields__})
            for r in conn.execute(q)]
