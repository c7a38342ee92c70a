"""The writes the pages make: each refused in read-only mode, each clearing the cached reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.context import engine
from dashboard.data import clear_caches
from monitor.config import Config
from monitor.errors import AlertError, StoreError


def write_guard(config: Config) -> None:
    """Refuse writes in read-only mode (the pages also hide the controls)."""
    if config.dashboard.read_only:
        raise StoreError("the dashboard is read-only (dashboard.read_only = true)")


def acknowledge_alert(config: Config, alert_id: int, by: str) -> None:
    from monitor.store import alerts as alert_store

    write_guard(config)
    with engine(config).begin() as conn:
        if not alert_store.acknowledge_alert(conn, alert_id, datetime.now(UTC), by=by):
            raise AlertError(f"alert {alert_id} no longer exists; reload the page")
    clear_caches()


def add_silence(config: Config, scope_kind: str, scope_value: str, hours: float,
                reason: str, by: str) -> None:
    """Silence notifications for a scope for `hours` (alerts still show here meanwhile)."""
    from monitor.store import alerts as alert_store

    write_guard(config)
    if not 0 < hours <= 24 * 90:
        raise AlertError(f"silence length must be between 0 and 2160 hours, got {hours:g}")
    at = datetime.now(UTC)
    with engine(config).begin() as conn:
        alert_store.add_silence(conn, scope_kind, scope_value, at + timedelta(hours=hours), at,
                                reason=reason.strip() or None, by=by)
    clear_caches()


def set_feed_enabled(config: Config, feed_id: int, enabled: bool) -> None:
    from monitor.store import feeds

    write_guard(config)
    with engine(config).begin() as conn:
        feeds.set_enabled(conn, feed_id, enabled, datetime.now(UTC),
                          reason=None if enabled else "disabled from the dashboard")
    clear_caches()


def add_feed(config: Config, name: str, url: str, poll_minutes: float) -> int:
    from monitor.store import feeds
    from monitor.types import FeedSpec

    write_guard(config)
    with engine(config).begin() as conn:
        if feeds.find_feed(conn, name) or feeds.find_feed(conn, url):
            raise StoreError(f"a feed named {name!r} or with URL {url} already exists")
        feed_id = feeds.add_feed(conn, FeedSpec(name, url, poll_minutes), datetime.now(UTC))
    clear_caches()
    return feed_id


def preview_feed(config: Config, url: str) -> Any:
    """What polling url would store now (monitor.ingest.poll.check_url); stores nothing."""
    from monitor.ingest.poll import check_url

    return check_url(url, config, datetime.now(UTC))


def activate_model(config: Config, task: str, version: str) -> None:
    from monitor.scoring import registry

    write_guard(config)
    registry.activate(engine(config), task, version, now=datetime.now(UTC),
                      reason="activated from the dashboard")
    clear_caches()


def rollback_model(config: Config, task: str) -> str:
    from monitor.scoring import registry

    write_guard(config)
    previous = registry.rollback(engine(config), task, now=datetime.now(UTC))
    clear_caches()
    return previous


def save_label(config: Config, article_id: int, title: str, summary: str, task: str,
               label: str, by: str) -> None:
    """Store a user's label for an article, with the same text the classifier reads."""
    from monitor.store import labels
    from monitor.text import model_input

    write_guard(config)
    with engine(config).begin() as conn:
        labels.save_label(conn, text=model_input(title, summary), task=task, label=label,
                          now=datetime.now(UTC), article_id=article_id, source="dashboard",
                          created_by=by)
    clear_caches()
