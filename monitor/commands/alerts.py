"""CLI commands for alerts: `finsentinel alerts list|show|ack|silence|silences|test|run|receive`."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import click

from monitor.cli import App, pass_app
from monitor.commands import fmt_time, format_table, shorten
from monitor.errors import AlertError

SCOPE_KINDS = ("all", "topic", "feed")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '2h', '1d', '1w' -> timedelta; AlertError naming the input otherwise."""
    parts = re.findall(r"\d+(?:\.\d+)?\s*[smhdw]", text or "")
    if not parts or "".join(parts).replace(" ", "") != (text or "").replace(" ", ""):
        raise AlertError(f"duration {text!r} not understood; use e.g. 30m, 2h, 1d or 1h30m")
    total = 0.0
    for p in parts:
        m = _DURATION.match(p)
        if m is None:  # pragma: no cover - findall above guarantees the shape
            raise AlertError(f"duration {text!r} not understood")
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    if total <= 0:
        raise AlertError(f"duration {text!r} must be positive")
    return timedelta(seconds=total)


@click.group()
def alerts() -> None:
    """Negative-news alerts: list, inspect, acknowledge, silence, test channels."""


@alerts.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved alerts.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_app
def list_cmd(app: App, show_all: bool, limit: int) -> None:
    """Open (pending and firing) alerts, newest first, with their delivery state."""
    from monitor.store.alerts import deliveries_of, list_alerts

    with app.engine.connect() as conn:
        rows = list_alerts(conn, include_resolved=show_all, limit=limit)
        deliveries = {a.id: deliveries_of(conn, a.id) for a in rows}
    if not rows:
        click.echo("no alerts" if show_all else "no open alerts (use --all to see resolved ones)")
        return
    table = []
    for a in rows:
        state = a.state + (" (acked)" if a.acknowledged_at else "")
        sent = ", ".join(f"{d.channel} ({d.event}): {d.state}" for d in deliveries[a.id])
        table.append([a.id, state, a.rule, shorten(a.summary, 70), fmt_time(a.fired_at),
                      fmt_time(a.resolved_at), sent or "-"])
    click.echo(format_table(["ID", "STATE", "RULE", "SUMMARY", "FIRED", "RESOLVED",
                             "DELIVERIES"], table))


@alerts.command("show")
@click.argument("alert_id", type=int)
@pass_app
def show_cmd(app: App, alert_id: int) -> None:
    """One alert with its evidence (window, baseline, statistic, headlines) and deliveries."""
    from monitor.store.alerts import deliveries_of, get_alert

    with app.engine.connect() as conn:
        a = get_alert(conn, alert_id)
        if a is None:
            raise AlertError(f"no alert with id {alert_id}; see `finsentinel alerts list --all`")
        deliveries = deliveries_of(conn, alert_id)
    click.echo(f"#{a.id} {a.state}  rule {a.rule}  {a.scope_kind} {a.scope_value!r}")
    click.echo(a.summary)
    click.echo(f"started {fmt_time(a.started_at)}  fired {fmt_time(a.fired_at)}  "
               f"resolved {fmt_time(a.resolved_at)}  acknowledged {fmt_time(a.acknowledged_at)}")
    for h in a.evidence.get("headlines", []):
        click.echo(f"  - {h.get('title')} (p_negative {h.get('p_negative')}) {h.get('link') or ''}")
    for d in deliveries:
        click.echo(f"delivery {d.channel} {d.event}: {d.state}, {d.attempts} attempt(s)"
                   + (f", last error: {d.last_error}" if d.last_error else ""))
    evidence = {k: v for k, v in a.evidence.items() if k != "headlines"}
    click.echo("evidence: " + json.dumps(evidence, indent=2, default=str))


@alerts.command("ack")
@click.argument("alert_id", type=int)
@click.option("--by", default=None, help="Who acknowledges (shown in the dashboard).")
@pass_app
def ack_cmd(app: App, alert_id: int, by: str | None) -> None:
    """Acknowledge an alert: it stays open until resolved but is not notified again."""
    from monitor.store.alerts import acknowledge_alert

    with app.engine.begin() as conn:
        if not acknowledge_alert(conn, alert_id, app.now(), by):
            raise AlertError(f"no alert with id {alert_id}; see `finsentinel alerts list --all`")
    click.echo(f"alert {alert_id} acknowledged")


@alerts.command("silence")
@click.argument("scope_kind", type=click.Choice(SCOPE_KINDS))
@click.argument("scope_value")
@click.option("--for", "duration", required=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--reason", default=None)
@pass_app
def silence_cmd(app: App, scope_kind: str, scope_value: str, duration: str,
                reason: str | None) -> None:
    """Silence a scope for a while: no new alerts and no notifications for it.

    Examples: `topic "Energy | Oil" --for 2h`, `feed Reuters --for 1d`, `all all --for 30m`;
    the value * silences every value of the kind.
    """
    from monitor.store.alerts import add_silence

    now = app.now()
    until = now + parse_duration(duration)
    with app.engine.begin() as conn:
        sid = add_silence(conn, scope_kind, scope_value, until, now, reason=reason)
    click.echo(f"silence {sid}: {scope_kind} {scope_value!r} until {fmt_time(until)} UTC")


@alerts.command("silences")
@pass_app
def silences_cmd(app: App) -> None:
    """Silences in force now."""
    from monitor.store.alerts import active_silences

    with app.engine.connect() as conn:
        rows = active_silences(conn, app.now())
    if not rows:
        click.echo("no active silences")
        return
    click.echo(format_table(["ID", "KIND", "VALUE", "UNTIL", "REASON"],
                            [[s.id, s.scope_kind, s.scope_value, fmt_time(s.until),
                              s.reason or ""] for s in rows]))


@alerts.command("test")
@click.option("--channel", default=None, help="Only this channel (default: every channel).")
@pass_app
def test_cmd(app: App, channel: str | None) -> None:
    """Send a test notification to the configured channels now (nothing is stored)."""
    from monitor.alerts.notify import AppriseNotifier

    cfg = app.config.alerts
    notifier = AppriseNotifier.from_config(cfg)
    names = notifier.channels()
    if not names:
        raise AlertError("no channels configured; add [[alerts.channels]] with name and "
                         "url_env (or url) to the config")
    if channel is not None:
        if channel not in names:
            raise AlertError(f"unknown channel {channel!r}; configured: {', '.join(names)}")
        names = (channel,)
    body = ("This is a test notification from FinSentinel. Alerts look like:\n"
            "Energy | Oil: 14 negative articles in 30 min, 2.1 expected")
    if cfg.dashboard_url:
        body += f"\n\nDashboard: {cfg.dashboard_url}"
    failed = []
    for name in names:
        try:
            notifier.send(name, "FinSentinel test notification", body)
            click.echo(f"{name}: sent")
        except AlertError as err:
            click.echo(f"{name}: FAILED: {err}")
            failed.append(name)
    if failed:
        raise AlertError(f"test notification failed on {', '.join(failed)}")


@alerts.command("run")
@pass_app
def run_cmd(app: App) -> None:
    """Run one alert cycle now: detect, persist, deliver due notifications."""
    from monitor.alerts.job import run_alerts

    r = run_alerts(app.engine, app.config, app.now())
    click.echo(f"{r.scopes} scope(s) checked, {r.candidates} burst(s); {r.opened} opened, "
               f"{r.fired} fired, {r.resolved} resolved; {r.sent} delivery(ies) sent, "
               f"{r.failed} failed")


@alerts.command("receive")
@click.option("--port", default=8766, show_default=True, type=click.IntRange(1, 65535),
              help="Port on 127.0.0.1 (the demo newswire uses 8765).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append each received notification to this file as a JSON line.")
def receive_cmd(port: int, out: Path | None) -> None:
    """A local JSON webhook receiver for a `json://127.0.0.1:PORT/alerts` channel (demo/offline).

    Listens on 127.0.0.1 until interrupted and prints each notification it gets.
    """
    from monitor.alerts.receiver import WebhookReceiver

    def show(body: object) -> None:
        if isinstance(body, dict):
            click.echo(f"--- {body.get('title', '')}\n{body.get('message', '')}\n", nl=True)
        else:
            click.echo(f"--- {body}")

    receiver = WebhookReceiver(port=port, path=out, on_receive=show)
    click.echo(f"listening on http://127.0.0.1:{receiver.port}; channel url: {receiver.url()}")
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
