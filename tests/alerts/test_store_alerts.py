"""Alert, delivery and silence SQL (monitor/store/alerts.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from monitor.store import alerts as store
from monitor.types import Alert
from tests.conftest import NOW


def _alert(scope: str = "Energy | Oil", negative: float = 14.0) -> Alert:
    return Alert("topics", "topic", scope, 6.5, 30, negative, 2.1, NOW - timedelta(minutes=30),
                 NOW, evidence={"p_value": 3e-7, "headlines": [{"title": "Oil slumps"}]})


def test_alert_lifecycle_rows(any_engine):
    with any_engine.begin() as conn:
        aid = store.insert_alert(conn, _alert(), state="pending", summary="s1", now=NOW)
        (row,) = store.open_alerts(conn, "topics")
        assert (row.id, row.state, row.fired_at, row.summary) == (aid, "pending", None, "s1")
        assert row.evidence["headlines"][0]["title"] == "Oil slumps"
        later = NOW + timedelta(minutes=10)
        store.refresh_alert(conn, aid, _alert(negative=20), summary="s2", now=later, fire=True)
        row = store.get_alert(conn, aid)
        assert (row.state, row.fired_at, row.last_notified_at, row.window_negative) == (
            "firing", later, later, 20.0)
        assert store.last_fired_resolutions(conn, "topics") == {}
        store.close_alert(conn, aid, later + timedelta(minutes=30))
        assert store.open_alerts(conn) == []
        assert store.last_fired_resolutions(conn, "topics") == {
            ("topic", "Energy | Oil"): later + timedelta(minutes=30)}
        # A pending alert that never fired does not start a cooldown.
        other = store.insert_alert(conn, _alert("Macro"), state="pending", summary="", now=NOW)
        store.close_alert(conn, other, NOW)
        assert ("topic", "Macro") not in store.last_fired_resolutions(conn, "topics")
        assert [a.id for a in store.list_alerts(conn, include_resolved=True)] == [other, aid]
        assert store.list_alerts(conn) == []
        assert store.acknowledge_alert(conn, aid, NOW, "ana")
        assert not store.acknowledge_alert(conn, 9999, NOW)
        assert store.get_alert(conn, aid).acknowledged_by == "ana"


def test_database_allows_one_open_alert_per_rule_and_scope(any_engine):
    with any_engine.begin() as conn:
        first = store.insert_alert(conn, _alert(), state="firing", summary="", now=NOW)
    with pytest.raises(IntegrityError), any_engine.begin() as conn:
        store.insert_alert(conn, _alert(), state="pending", summary="", now=NOW)
    with any_engine.begin() as conn:
        store.close_alert(conn, first, NOW)
        store.insert_alert(conn, _alert(), state="pending", summary="", now=NOW)  # fine now
        assert len(store.open_alerts(conn)) == 1


def test_deliveries_queue_claim_fail_and_send(any_engine):
    with any_engine.begin() as conn:
        aid = store.insert_alert(conn, _alert(), state="firing", summary="", now=NOW)
        store.queue_deliveries(conn, aid, ["hook", "mail"], "firing", NOW)
        due = store.due_deliveries(conn, NOW)
        assert [(d.channel, d.state, d.attempts) for d in due] == [
            ("hook", "pending", 0), ("mail", "pending", 0)]
        hook, mail = due
        lease = NOW + timedelta(minutes=5)
        assert store.claim_delivery(conn, hook.id, NOW, lease)
        assert not store.claim_delivery(conn, hook.id, NOW, lease)  # someone has it
        store.mark_failing(conn, hook.id, "connection refused", NOW + timedelta(seconds=30))
        store.mark_sent(conn, [mail.id], NOW)
        assert store.due_deliveries(conn, NOW) == []
        (retry,) = store.due_deliveries(conn, NOW + timedelta(seconds=30))
        assert (retry.state, retry.attempts, retry.last_error) == ("failing", 1,
                                                                    "connection refused")
        rows = {d.channel: d for d in store.deliveries_of(conn, aid)}
        assert (rows["mail"].state, rows["mail"].sent_at, rows["mail"].attempts) == (
            "sent", NOW, 1)
        # A repeat queues the same rows again rather than adding new ones.
        store.queue_deliveries(conn, aid, ["hook", "mail"], "firing", NOW + timedelta(hours=4))
        again = store.deliveries_of(conn, aid)
        assert len(again) == 2 and {d.state for d in again} == {"pending"}
        store.queue_deliveries(conn, aid, ["hook"], "resolved", NOW)
        assert len(store.deliveries_of(conn, aid)) == 3


def test_silences(any_engine):
    with any_engine.begin() as conn:
        store.add_silence(conn, "topic", "Energy | Oil", NOW + timedelta(hours=2), NOW,
                          reason="known story")
        store.add_silence(conn, "feed", "wire", NOW - timedelta(minutes=1), NOW)
        (s,) = store.active_silences(conn, NOW)
        assert (s.scope_kind, s.scope_value, s.reason) == ("topic", "Energy | Oil",
                                                            "known story")
        assert store.active_silences(conn, NOW + timedelta(hours=3)) == []
