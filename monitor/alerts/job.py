"""The alert job: detect -> persist (alert + pending deliveries, one transaction) -> deliver.

Alerts and their delivery rows are committed before anything is sent, so a crash or a dead
channel loses nothing: `deliver_due` picks up every pending or failing delivery whose next
attempt has come, whichever process wrote it, and retries with exponential backoff.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from monitor.alerts.detect import ScopeSeries, detect
from monitor.alerts.lifecycle import Action, OpenAlert, Timing, Transition, plan
from monitor.alerts.notify import AppriseNotifier, Notice, Notifier, alert_line, format_notification
from monitor.alerts.rules import Rule, rules_from_config
from monitor.config import Config
from monitor.errors import AlertError
from monitor.store import alerts as store
from monitor.store.headlines import negative_headlines
from monitor.store.stats import bucket_counts
from monitor.types import Alert

log = logging.getLogger(__name__)
CLAIM_SECONDS = 300  # a claimed delivery is retried after this if its sender died


@dataclass(frozen=True)
class AlertRunReport:
    """What one run did."""

    scopes: int = 0  # scopes evaluated
    candidates: int = 0  # bursts detected now
    opened: int = 0  # new pending or firing alerts
    fired: int = 0  # alerts that started firing
    resolved: int = 0
    queued: int = 0  # delivery rows queued
    sent: int = 0  # deliveries sent
    failed: int = 0  # delivery attempts that failed


def run_alerts(engine: Engine, config: Config, now: datetime,
               notifier: Notifier | None = None) -> AlertRunReport:
    """One alert cycle: detect and persist, then deliver whatever is due."""
    report = detect_and_persist(engine, config, now)
    sent, failed = deliver_due(engine, config, now, notifier)
    return replace(report, sent=sent, failed=failed)


def _whole_second(now: datetime) -> datetime:
    # The store numbers buckets in whole seconds from the origin; a fractional `now` would
    # put the window's edge and the bucket edges a fraction of a second apart.
    return datetime.fromtimestamp(int(now.timestamp()), UTC)


def load_series(conn: Connection, rule: Rule, end: datetime) -> list[ScopeSeries]:
    """Dense bucketed histories of every scope of the rule, ending at `end`."""
    b = rule.bucket_minutes
    # One day more than the baseline so that the same clock time N days ago is complete.
    n = (int(rule.baseline_days * 1440) + 1440) // b + rule.window_minutes // b
    start = end - timedelta(minutes=n * b)
    out: list[ScopeSeries] = []
    for kind in rule.scopes:
        cols: dict[str, tuple[list[int], list[int], list[float]]] = {}
        for value, i, articles, negative, weight in bucket_counts(
                conn, start=start, end=end, bucket_minutes=b, scope_kind=kind, origin=start):
            a, g, w = cols.setdefault(value, ([0] * n, [0] * n, [0.0] * n))
            a[i], g[i], w[i] = articles, negative, weight
        out.extend(ScopeSeries(kind, value, end, b, a, g, w)
                   for value, (a, g, w) in sorted(cols.items()))
    return out


def _with_headlines(conn: Connection, c: Alert, limit: int) -> Alert:
    heads = negative_headlines(conn, start=c.window_start, end=c.window_end,
                               scope_kind=c.scope_kind, scope_value=c.scope_value, limit=limit)
    items = [{"article_id": h.article_id, "title": h.title, "link": h.link,
              "p_negative": round(h.p_negative, 3), "feed": h.feed, "topic": h.topic,
              "published_at": h.published_at.isoformat()} for h in heads]
    return replace(c, evidence={**c.evidence, "headlines": items})


def _open(row: store.AlertRow) -> OpenAlert:
    return OpenAlert(row.id, row.scope_kind, row.scope_value, row.state, row.started_at,
                     row.last_evaluated_at, row.fired_at, row.last_notified_at,
                     row.acknowledged_at)


def _silenced(conn: Connection, now: datetime, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    active = {(s.scope_kind, s.scope_value) for s in store.active_silences(conn, now)}
    return {k for k in keys if k in active or (k[0], "*") in active}


def detect_and_persist(engine: Engine, config: Config, now: datetime) -> AlertRunReport:
    """Detect bursts for every rule and apply the lifecycle; commits per rule, sends nothing."""
    cfg = config.alerts
    if not cfg.enabled:
        return AlertRunReport()
    timing, channels = Timing.from_config(cfg), [c.name for c in cfg.channels]
    totals: dict[str, int] = defaultdict(int)
    # The window slides with the clock: a burst is judged at the first run after its
    # articles are scored, not at the next bucket boundary (up to a bucket later). Every
    # rule's history is bucketed back from the same end.
    end = _whole_second(now)
    for rule in rules_from_config(cfg):
        with engine.begin() as conn:  # the alert and its deliveries commit together
            series = load_series(conn, rule, end)
            candidates = [_with_headlines(conn, c, cfg.headlines)
                          for c in detect(rule, series, end)]
            open_rows = store.open_alerts(conn, rule.name)
            keys = {(c.scope_kind, c.scope_value) for c in candidates}
            keys |= {(r.scope_kind, r.scope_value) for r in open_rows}
            steps = plan(candidates, [_open(r) for r in open_rows],
                         store.last_fired_resolutions(conn, rule.name),
                         _silenced(conn, now, keys), timing, now)
            for step in steps:
                _apply(conn, rule, step, channels, now, totals)
            totals["scopes"] += len(series)
            totals["candidates"] += len(candidates)
    _close_orphans(engine, {r.name for r in cfg.rules}, now)
    report = AlertRunReport(**totals)
    if report.opened or report.fired or report.resolved:
        log.info("alerts: %d opened, %d fired, %d resolved, %d deliveries queued",
                 report.opened, report.fired, report.resolved, report.queued)
    return report


def _close_orphans(engine: Engine, rule_names: set[str], now: datetime) -> None:
    """Open alerts of rules no longer in the config would never resolve: resolve them quietly."""
    with engine.begin() as conn:
        for row in store.open_alerts(conn):
            if row.rule not in rule_names:
                log.info("resolving alert %d: its rule %r is no longer configured", row.id,
                         row.rule)
                store.close_alert(conn, row.id, now)


def _summary(rule: Rule, c: Alert) -> str:
    return alert_line(c.scope_kind, c.scope_value, c.window_negative, rule.window_minutes,
                      c.expected)


def _apply(conn: Connection, rule: Rule, step: Transition, channels: Sequence[str],
           now: datetime, totals: dict[str, int]) -> None:
    c, alert_id = step.candidate, step.alert_id
    if c is not None and step.action in (Action.OPEN_PENDING, Action.OPEN_FIRING):
        state = "firing" if step.action is Action.OPEN_FIRING else "pending"
        alert_id = store.insert_alert(conn, c, state=state, summary=_summary(rule, c), now=now)
        totals["opened"] += 1
        totals["fired"] += state == "firing"
    elif c is not None and alert_id is not None and step.action in (
            Action.FIRE, Action.UPDATE, Action.REPEAT):
        store.refresh_alert(conn, alert_id, c, summary=_summary(rule, c), now=now,
                            fire=step.action is Action.FIRE,
                            notified=step.action is Action.REPEAT)
        totals["fired"] += step.action is Action.FIRE
    elif alert_id is not None and step.action in (Action.RESOLVE, Action.DROP):
        store.close_alert(conn, alert_id, now)
        totals["resolved"] += step.action is Action.RESOLVE
    else:
        raise AlertError(f"inconsistent lifecycle step {step}")  # a bug in plan(), not input
    if step.notify and channels:
        store.queue_deliveries(conn, alert_id, channels, step.notify, now)
        totals["queued"] += len(channels)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2*base, ... cap."""
    return min(cap, base * 2 ** max(attempts - 1, 0))


def deliver_due(engine: Engine, config: Config, now: datetime,
                notifier: Notifier | None = None) -> tuple[int, int]:
    """Send every due delivery, grouped into one notification per channel; (sent, failed)."""
    cfg = config.alerts
    with engine.begin() as conn:
        due = store.due_deliveries(conn, now)
    if not due:
        return 0, 0
    notifier = notifier or AppriseNotifier.from_config(cfg)
    by_channel: dict[str, list[store.DeliveryRow]] = defaultdict(list)
    for d in due:
        by_channel[d.channel].append(d)
    sent = failed = 0
    for channel, rows in by_channel.items():
        with engine.begin() as conn:  # claim first, so a second process does not send too
            until = now + timedelta(seconds=CLAIM_SECONDS)
            rows = [d for d in rows if store.claim_delivery(conn, d.id, now, until)]
            alerts_by_id = store.get_alerts(conn, [d.alert_id for d in rows])
        if not rows:
            continue
        notices = [Notice(d.event, alerts_by_id[d.alert_id]) for d in rows]
        try:
            title, body = format_notification(notices, cfg.dashboard_url, cfg.headlines)
            notifier.send(channel, title, body)
        except Exception as err:  # any failure must become retry state, never a lost alert
            failed += len(rows)
            if isinstance(err, AlertError):
                log.warning("delivery to %s failed (%d alerts): %s", channel, len(rows), err)
            else:
                log.exception("delivery to %s failed unexpectedly", channel)
            with engine.begin() as conn:
                for d in rows:
                    delay = backoff(d.attempts + 1, cfg.retry_base_seconds, cfg.retry_max_seconds)
                    store.mark_failing(conn, d.id, str(err), now + timedelta(seconds=delay))
            continue
        with engine.begin() as conn:
            store.mark_sent(conn, [d.id for d in rows], now)
        sent += len(rows)
    return sent, failed
