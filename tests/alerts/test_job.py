"""The alert job end to end: real store, real Apprise, real receivers on 127.0.0.1."""

from __future__ import annotations

import email
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts.job import backoff, detect_and_persist, run_alerts
from monitor.alerts.receiver import WebhookReceiver
from monitor.config import config_from_dict
from monitor.store import alerts as store
from monitor.store.engine import open_store
from tests.alerts.helpers import background, bulk_articles
from tests.conftest import NOW, PROJECT_ROOT, make_config

OIL = "Energy | Oil"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_burst(engine, now=NOW) -> None:
    """Three days of steady news (Energy | Oil every 10 min, Markets every 5 min, a quarter
    negative), then 12 confidently negative Energy | Oil stories in the last half hour
    (13 negatives in the window with the background one)."""
    with engine.begin() as conn:
        bulk_articles(conn, "wire", OIL, now, background(now, 3))
        bulk_articles(conn, "wire", "Markets", now, background(now, 3, every_minutes=5))
        bulk_articles(conn, "wire", OIL, now,
                      [(now - timedelta(minutes=2 * k + 1), "negative", 0.95) for k in range(12)],
                      prefix="burst ")


def config(tmp_path: Path, *channels: tuple[str, str], **alerts):
    return make_config(tmp_path, alerts={
        "channels": [{"name": n, "url": u} for n, u in channels],
        "dashboard_url": "http://dash.example/alerts", **alerts})


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Mailbox, int]]:
    box, port = _Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_burst_is_stored_then_delivered_to_a_webhook_once(tmp_path, engine, hook):
    cfg = config(tmp_path, ("hook", hook.url()))
    seed_burst(engine)
    report = run_alerts(engine, cfg, NOW)
    assert (report.fired, report.sent, report.failed) == (3, 3, 0)
    with engine.connect() as conn:
        rows = {a.rule: a for a in store.list_alerts(conn)}
        deliveries = [store.deliveries_of(conn, a.id) for a in rows.values()]
    assert set(rows) == {"market", "topics", "feeds"}  # all news, the topic, the feed "wire"
    oil = rows["topics"]
    assert oil.state == "firing" and oil.scope_value == OIL
    assert oil.summary.startswith(f"{OIL}: 13 negative articles in 30 min, ")
    assert oil.evidence["p_value"] < 1e-5 and oil.evidence["baseline"]["hours"] > 24
    assert len(oil.evidence["headlines"]) == 5
    assert all(d.state == "sent" and d.sent_at == NOW for ds in deliveries for d in ds)
    # The alerts fired together: one grouped notification.
    (body,) = hook.bodies
    assert body["title"] == "FinSentinel: 3 alerts firing"
    msg = body["message"]
    assert oil.summary in msg and rows["market"].summary in msg
    assert "burst negative Energy | Oil story 0 (p_negative 0.95)" in msg
    assert "http://127.0.0.1/burst 0" in msg
    assert msg.rstrip().endswith("Dashboard: http://dash.example/alerts")
    # Still a burst a minute later: no second notification.
    again = run_alerts(engine, cfg, NOW + timedelta(minutes=1))
    assert (again.opened, again.queued, again.sent) == (0, 0, 0)
    assert len(hook.bodies) == 1


def test_the_window_ends_at_the_current_minute_not_a_bucket_boundary(tmp_path, engine):
    # Every burst article is newer than the last 10-minute boundary (14:30): a detector that
    # waited for the boundary at 14:40 would see none of them yet.
    now = NOW + timedelta(minutes=7, seconds=40)
    with engine.begin() as conn:
        bulk_articles(conn, "wire", OIL, NOW, background(NOW, 3))
        bulk_articles(conn, "wire", OIL, now,
                      [(now - timedelta(seconds=30 * k + 10), "negative", 0.95)
                       for k in range(12)], prefix="burst ")
    report = detect_and_persist(engine, config(tmp_path), now)
    assert report.fired >= 1
    with engine.connect() as conn:
        oil = next(a for a in store.list_alerts(conn) if a.rule == "topics")
    assert oil.scope_value == OIL and oil.started_at == now
    assert oil.summary.startswith(f"{OIL}: 12 negative articles in 30 min, ")
    heads = oil.evidence["headlines"]
    assert len(heads) == 5 and all(h["title"].startswith("burst ") for h in heads)


def test_email_through_a_real_smtp_server(tmp_path, engine, smtp):
    box, port = smtp
    url = f"mailto://127.0.0.1:{port}?from=finsentinel@example.com&to=ops@example.com&mode=insecure"
    cfg = config(tmp_path, ("mail", url), rules=[{"name": "topics", "scopes": ["topic"]}])
    seed_burst(engine)
    assert run_alerts(engine, cfg, NOW).sent == 1
    (mail,) = box.messages
    assert mail["To"] == "ops@example.com"
    assert mail["Subject"].startswith(f"FinSentinel: {OIL}: 13 negative articles in 30 min")
    text = mail.get_payload(decode=True).decode()
    assert "burst negative Energy | Oil story 3" in text and "Dashboard:" in text


def test_a_receiver_that_is_down_gets_the_alert_after_it_returns_exactly_once(tmp_path, engine):
    port = free_port()  # nothing listens there yet
    cfg = config(tmp_path, ("hook", f"json://127.0.0.1:{port}/alerts"),
                 rules=[{"name": "topics", "scopes": ["topic"]}], retry_base_seconds=30)
    seed_burst(engine)
    first = run_alerts(engine, cfg, NOW)
    assert (first.fired, first.sent, first.failed) == (1, 0, 1)
    with engine.connect() as conn:
        (alert,) = store.list_alerts(conn)
        (d,) = store.deliveries_of(conn, alert.id)
    assert (d.state, d.attempts, d.next_attempt_at) == ("failing", 1, NOW + timedelta(seconds=30))
    assert "127.0.0.1" in (d.last_error or "")
    # Before the backoff has passed nothing is retried; a second failure doubles it.
    assert run_alerts(engine, cfg, NOW + timedelta(seconds=10)).failed == 0
    assert run_alerts(engine, cfg, NOW + timedelta(seconds=30)).failed == 1
    with engine.connect() as conn:
        (d,) = store.deliveries_of(conn, alert.id)
    assert (d.attempts, d.next_attempt_at) == (2, NOW + timedelta(seconds=90))
    receiver = WebhookReceiver(port=port).start()
    try:
        back = NOW + timedelta(seconds=95)
        assert run_alerts(engine, cfg, back).sent == 1
        for minutes in (2, 5, 30):  # by 15:00 the burst has left the window: resolved
            run_alerts(engine, cfg, NOW + timedelta(minutes=minutes))
        titles = [b["title"] for b in receiver.bodies]
        assert titles == [f"FinSentinel: {OIL}: 13 negative articles in 30 min, 0.7 expected",
                          f"FinSentinel: {OIL} resolved"]
    finally:
        receiver.stop()
    with engine.connect() as conn:
        firing, resolved = store.deliveries_of(conn, alert.id)
    assert (firing.event, firing.state, firing.sent_at, firing.last_error) == (
        "firing", "sent", back, None)
    assert (resolved.event, resolved.state) == ("resolved", "sent")


RESTART = """
import json, sys
from datetime import datetime
from pathlib import Path
from monitor.alerts.job import run_alerts
from monitor.config import config_from_dict
from monitor.store.engine import open_store
data, now = json.loads(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
cfg = config_from_dict(data, base_dir=Path(sys.argv[3]), env={})
report = run_alerts(open_store(cfg.database_url), cfg, now)
print(json.dumps([report.opened, report.sent]))
"""


def test_killed_between_writing_and_delivering_delivers_after_restart(tmp_path, hook):
    data = {"database": {"url": f"sqlite:///{tmp_path / 'fs.db'}"},
            "alerts": {"channels": [{"name": "hook", "url": hook.url()}],
                       "rules": [{"name": "topics", "scopes": ["topic"]}]}}
    cfg = config_from_dict(data, base_dir=tmp_path, env={})
    first = open_store(cfg.database_url)
    seed_burst(first)
    persisted = detect_and_persist(first, cfg, NOW)  # the process dies after this commit
    first.dispose()
    assert (persisted.fired, persisted.queued) == (1, 1) and hook.bodies == []
    for minutes in (1, 2):  # a new monitor process, then its next tick
        out = subprocess.run(
            [sys.executable, "-c", RESTART, json.dumps(data),
             (NOW + timedelta(minutes=minutes)).isoformat(), str(tmp_path)],
            capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, check=True)
        assert json.loads(out.stdout.splitlines()[-1]) == ([0, 1] if minutes == 1 else [0, 0])
    assert len(hook.bodies) == 1 and OIL in hook.bodies[0]["title"]


def test_resolve_notification_when_the_burst_is_over(tmp_path, engine, hook):
    cfg = config(tmp_path, ("hook", hook.url()), rules=[{"name": "topics", "scopes": ["topic"]}])
    seed_burst(engine)
    run_alerts(engine, cfg, NOW)
    later = NOW + timedelta(hours=1)
    with engine.begin() as conn:  # the news goes on, calmly
        bulk_articles(conn, "wire", OIL, later, background(later, 1 / 24), prefix="calm ")
    report = run_alerts(engine, cfg, later)
    assert (report.resolved, report.sent) == (1, 1)
    assert hook.bodies[-1]["title"] == f"FinSentinel: {OIL} resolved"
    assert hook.bodies[-1]["message"].startswith("Resolved at 15:30 UTC: Energy | Oil")


def test_silenced_scope_raises_nothing_and_acknowledged_alert_is_not_repeated(
        tmp_path, engine, hook):
    cfg = config(tmp_path, ("hook", hook.url()), repeat_minutes=60)
    seed_burst(engine)
    with engine.begin() as conn:
        store.add_silence(conn, "topic", OIL, NOW + timedelta(hours=2), NOW)
    run_alerts(engine, cfg, NOW)
    with engine.connect() as conn:
        rows = store.list_alerts(conn)
    assert {a.rule for a in rows} == {"market", "feeds"} and len(hook.bodies) == 1
    with engine.begin() as conn:
        for a in rows:
            store.acknowledge_alert(conn, a.id, NOW, "ops")
    later = NOW + timedelta(minutes=61)
    with engine.begin() as conn:  # the burst goes on
        bulk_articles(conn, "wire", OIL, later, [(later - timedelta(minutes=2 * k + 1),
                                                  "negative", 0.95) for k in range(12)],
                      prefix="more ")
    report = run_alerts(engine, cfg, later)  # repeat due, but acknowledged
    assert (report.candidates, report.resolved, report.queued) == (3, 0, 0)
    assert len(hook.bodies) == 1


def test_repeat_notification_for_an_unacknowledged_alert(tmp_path, engine, hook):
    cfg = config(tmp_path, ("hook", hook.url()), repeat_minutes=60,
                 rules=[{"name": "topics", "scopes": ["topic"]}])
    seed_burst(engine)
    run_alerts(engine, cfg, NOW)
    later = NOW + timedelta(minutes=61)
    with engine.begin() as conn:  # the burst goes on
        bulk_articles(conn, "wire", OIL, later, [(later - timedelta(minutes=2 * k + 1),
                                                  "negative", 0.95) for k in range(12)],
                      prefix="more ")
    assert run_alerts(engine, cfg, later).sent == 1
    assert len(hook.bodies) == 2 and "still firing since" in hook.bodies[1]["message"]


def test_without_channels_alerts_are_still_stored(tmp_path, any_engine):
    cfg = config(tmp_path)
    seed_burst(any_engine)
    report = run_alerts(any_engine, cfg, NOW + timedelta(minutes=4))  # evaluated at 14:30
    assert (report.fired, report.queued, report.sent) == (3, 0, 0)
    with any_engine.connect() as conn:
        assert {a.scope_value for a in store.list_alerts(conn)} == {"all", OIL, "wire"}


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 30, 100) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_alerts_of_a_removed_rule_are_resolved(tmp_path, engine):
    seed_burst(engine)
    run_alerts(engine, config(tmp_path), NOW)
    only_topics = config(tmp_path, rules=[{"name": "topics", "scopes": ["topic"]}])
    run_alerts(engine, only_topics, NOW + timedelta(minutes=1))
    with engine.connect() as conn:
        assert [a.rule for a in store.list_alerts(conn)] == ["topics"]

