"""The demo newswire's scripted burst raises alerts under the default rules (make demo)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.alerts.job import run_alerts
from monitor.store import alerts as store
from tests.alerts.helpers import bulk_articles
from tests.conftest import NOW, make_config

newswire = pytest.importorskip("monitor.demo.newswire")


@pytest.mark.parametrize("minutes_after_start", [1, 12])
def test_default_rules_fire_on_the_demo_burst(tmp_path, engine, hook, minutes_after_start):
    """Every demo item (7 days of background, the burst around the server's start) stored with
    its scripted topic and sentiment at confidence 0.85, as a decent classifier would."""
    anchor = NOW - timedelta(minutes=minutes_after_start)
    with engine.begin() as conn:
        for feed in newswire.FEEDS:
            items = newswire.generate_items(feed, seed=newswire.DEFAULT_SEED, anchor=anchor,
                                            now=NOW)
            by_topic: dict[str, list] = {}
            for it in items:
                by_topic.setdefault(it.topic, []).append((it.published_at, it.sentiment, 0.85))
            for topic, rows in by_topic.items():
                bulk_articles(conn, feed.title, topic, NOW, rows, prefix=f"{feed.slug} ")
    cfg = make_config(tmp_path, alerts={"channels": [{"name": "demo", "url": hook.url()}]})
    report = run_alerts(engine, cfg, NOW)
    with engine.connect() as conn:
        fired = {(a.scope_kind, a.scope_value) for a in store.list_alerts(conn)}
    assert ("topic", "Energy | Oil") in fired
    assert ("all", "all") in fired
    assert report.sent == len(fired) and len(hook.bodies) == 1
    assert "Energy | Oil: " in hook.bodies[0]["message"]
