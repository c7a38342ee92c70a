"""Notification text, channel configuration and the Apprise notifier's failure modes."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest

from monitor.alerts.notify import AppriseNotifier, Notice, alert_line, format_notification
from monitor.alerts.receiver import WebhookReceiver
from monitor.config import config_from_dict
from monitor.config_sections import AlertsConfig
from monitor.errors import AlertError, ConfigError
from monitor.store.alerts import AlertRow
from tests.conftest import NOW


def row(scope_kind="topic", scope_value="Energy | Oil", *, resolved=False, repeat=False,
        headlines=2) -> AlertRow:
    heads = [{"title": f"Oil story {i}", "link": f"http://127.0.0.1/{i}", "p_negative": 0.9}
             for i in range(headlines)]
    return AlertRow(
        id=1, rule="topics", scope_kind=scope_kind, scope_value=scope_value,
        state="resolved" if resolved else "firing", started_at=NOW, fired_at=NOW,
        resolved_at=NOW + timedelta(hours=1) if resolved else None, last_evaluated_at=NOW,
        last_notified_at=NOW + timedelta(hours=4) if repeat else NOW, acknowledged_at=None,
        acknowledged_by=None, statistic=6.0, window_count=30, window_negative=14.0,
        expected=2.1, summary=alert_line(scope_kind, scope_value, 14, 30, 2.1),
        evidence={"headlines": heads})


def test_the_one_line_summary():
    assert alert_line("topic", "Energy | Oil", 14, 30, 2.09) == (
        "Energy | Oil: 14 negative articles in 30 min, 2.1 expected")
    assert alert_line("feed", "Reuters", 1, 60, 0.0) == (
        "Feed Reuters: 1 negative article in 60 min, 0.0 expected")
    assert alert_line("all", "all", 40, 30, 9.5).startswith("All news: 40 negative")


def test_single_alert_message():
    title, body = format_notification([Notice("firing", row())], "http://dash/", headlines=1)
    assert title == "FinSentinel: Energy | Oil: 14 negative articles in 30 min, 2.1 expected"
    assert body.splitlines() == [
        "Energy | Oil: 14 negative articles in 30 min, 2.1 expected",
        "  - Oil story 0 (p_negative 0.90)", "    http://127.0.0.1/0", "", "Dashboard: http://dash/"]


def test_grouped_message_with_repeat_and_resolution():
    notices = [Notice("firing", row()), Notice("firing", row("all", "all", repeat=True)),
               Notice("resolved", row("feed", "wire", resolved=True))]
    title, body = format_notification(notices, "")
    assert title == "FinSentinel: 2 alerts firing, 1 resolved"
    blocks = body.split("\n\n")
    assert blocks[0].startswith("Energy | Oil: 14 negative")
    assert blocks[1].startswith("All news: 14 negative articles in 30 min, 2.1 expected "
                                "(still firing since 2026-11-02 14:30 UTC)")
    assert blocks[2] == "Resolved at 15:30 UTC: Feed wire, firing since 2026-11-02 14:30 UTC"
    assert "Dashboard" not in body
    with pytest.raises(AlertError):
        format_notification([], "")


def test_channel_config_needs_exactly_one_url_source():
    with pytest.raises(ConfigError, match="exactly one of url_env"):
        config_from_dict({"alerts": {"channels": [{"name": "x"}]}}, env={})
    with pytest.raises(ConfigError, match="exactly one of url_env"):
        config_from_dict({"alerts": {"channels": [{"name": "x", "url": "json://h",
                                                   "url_env": "X"}]}}, env={})
    with pytest.raises(ConfigError, match="channel names must be unique"):
        config_from_dict({"alerts": {"channels": [{"name": "x", "url": "json://h"},
                                                  {"name": "x", "url_env": "Y"}]}}, env={})
    with pytest.raises(ConfigError, match="rule names must be unique"):
        config_from_dict({"alerts": {"rules": [{"name": "r"}, {"name": "r"}]}}, env={})
    with pytest.raises(ConfigError, match="alerts.rules.0.scopes"):
        config_from_dict({"alerts": {"rules": [{"name": "r", "scopes": ["planet"]}]}}, env={})


def test_notifier_failures_are_alert_errors():
    cfg = AlertsConfig.model_validate({"channels": [
        {"name": "env", "url_env": "FS_HOOK"}, {"name": "bad", "url": "nosuchscheme://x"}]})
    notifier = AppriseNotifier.from_config(cfg, env={})
    assert notifier.channels() == ("env", "bad")
    with pytest.raises(AlertError, match="FS_HOOK is not set"):
        notifier.send("env", "t", "b")
    with pytest.raises(AlertError, match="does not accept its URL"):
        notifier.send("bad", "t", "b")
    with pytest.raises(AlertError, match="not configured"):
        notifier.send("other", "t", "b")


def test_notifier_reads_the_url_from_the_named_variable(hook):
    cfg = AlertsConfig.model_validate({"channels": [{"name": "h", "url_env": "FS_HOOK"}]})
    AppriseNotifier.from_config(cfg, env={"FS_HOOK": hook.url()}).send("h", "Hi", "there")
    assert [(b["title"], b["message"]) for b in hook.bodies] == [("Hi", "there")]


def test_receiver_appends_json_lines(tmp_path):
    out = tmp_path / "alerts.jsonl"
    receiver = WebhookReceiver(path=out).start()
    try:
        for n in (1, 2):
            req = urllib.request.Request(f"http://127.0.0.1:{receiver.port}/alerts",
                                         data=json.dumps({"n": n}).encode(), method="POST")
            urllib.request.urlopen(req, timeout=5).close()
    finally:
        receiver.stop()
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"n": 1}, {"n": 2}]
