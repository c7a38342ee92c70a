"""Notification text and delivery: the Notifier protocol and its Apprise implementation."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from monitor.config import secret_from_env
from monitor.config_sections import AlertsConfig
from monitor.errors import AlertError
from monitor.store.alerts import AlertRow

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Sends one message to one named channel; raises AlertError when it could not."""

    def channels(self) -> tuple[str, ...]: ...

    def send(self, channel: str, title: str, body: str) -> None: ...


@dataclass(frozen=True)
class Notice:
    """One alert event inside a (possibly grouped) notification."""

    event: str  # "firing" | "resolved"
    alert: AlertRow


def scope_label(scope_kind: str, scope_value: str) -> str:
    if scope_kind == "all":
        return "All news"
    if scope_kind == "feed":
        return f"Feed {scope_value}"
    return scope_value


def alert_line(scope_kind: str, scope_value: str, negative: float, window_minutes: int,
               expected: float) -> str:
    """The one-line summary: "Energy | Oil: 14 negative articles in 30 min, 2.1 expected"."""
    n = int(round(negative))
    noun = "article" if n == 1 else "articles"
    return (f"{scope_label(scope_kind, scope_value)}: {n} negative {noun} in "
            f"{window_minutes} min, {expected:.1f} expected")


def _firing_text(a: AlertRow, headlines: int) -> list[str]:
    lines = [a.summary]
    if a.fired_at and a.last_notified_at and (a.last_notified_at - a.fired_at).total_seconds() > 60:
        lines[0] += f" (still firing since {a.fired_at:%Y-%m-%d %H:%M} UTC)"
    for h in (a.evidence.get("headlines") or [])[:headlines]:
        lines.append(f"  - {h.get('title', '')} (p_negative {float(h.get('p_negative', 0)):.2f})")
        if h.get("link"):
            lines.append(f"    {h['link']}")
    return lines


def _resolved_text(a: AlertRow) -> list[str]:
    when = f"{a.resolved_at:%H:%M} UTC" if a.resolved_at else "now"
    since = f", firing since {a.fired_at:%Y-%m-%d %H:%M} UTC" if a.fired_at else ""
    return [f"Resolved at {when}: {scope_label(a.scope_kind, a.scope_value)}{since}"]


def format_notification(notices: Sequence[Notice], dashboard_url: str,
                        headlines: int = 5) -> tuple[str, str]:
    """Title and plain-text body for alerts sent together (one per line group)."""
    if not notices:
        raise AlertError("nothing to notify")
    blocks = [_firing_text(n.alert, headlines) if n.event == "firing" else _resolved_text(n.alert)
              for n in notices]
    firing = sum(n.event == "firing" for n in notices)
    if len(notices) == 1:
        a = notices[0].alert
        title = (f"FinSentinel: {a.summary}" if firing
                 else f"FinSentinel: {scope_label(a.scope_kind, a.scope_value)} resolved")
    else:
        title = f"FinSentinel: {firing} alert{'s' if firing != 1 else ''} firing"
        if len(notices) - firing:
            title += f", {len(notices) - firing} resolved"
    body = "\n\n".join("\n".join(b) for b in blocks)
    if dashboard_url:
        body += f"\n\nDashboard: {dashboard_url}"
    return title[:250], body


class AppriseNotifier:
    """Delivers through Apprise; channel name -> Apprise URL (from config or its env var)."""

    def __init__(self, urls: Mapping[str, str | None],
                 problems: Mapping[str, str] | None = None) -> None:
        self._urls = dict(urls)
        self._problems = dict(problems or {})

    @classmethod
    def from_config(cls, cfg: AlertsConfig, env: dict[str, str] | None = None) -> AppriseNotifier:
        urls: dict[str, str | None] = {}
        problems: dict[str, str] = {}
        for ch in cfg.channels:
            url = ch.url or secret_from_env(ch.url_env, env)
            urls[ch.name] = url
            if not url:
                problems[ch.name] = (f"channel {ch.name!r}: environment variable "
                                     f"{ch.url_env} is not set; set it to the Apprise URL")
        return cls(urls, problems)

    def channels(self) -> tuple[str, ...]:
        return tuple(self._urls)

    def send(self, channel: str, title: str, body: str) -> None:
        import apprise

        if channel not in self._urls:
            raise AlertError(f"channel {channel!r} is not configured in [[alerts.channels]]")
        url = self._urls[channel]
        if not url:
            raise AlertError(self._problems.get(channel, f"channel {channel!r} has no URL"))
        app = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
        if not app.add(url):
            scheme = url.split("://", 1)[0]
            raise AlertError(f"channel {channel!r}: Apprise does not accept its URL "
                             f"(scheme {scheme}://); see the Apprise wiki for the syntax")
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            ok = app.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
        if not ok:
            detail = " ".join(captured.getvalue().split())[-500:] or "Apprise reported failure"
            raise AlertError(f"channel {channel!r}: delivery failed: {detail}")
        log.info("notification sent to channel %s", channel)
