"""SQL for the feeds table: config sync, what is due, and per-feed polling state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from monitor.store import rollups
from monitor.store.schema import articles, feeds
from monitor.types import FeedSpec, FeedState


def _state(row: Any) -> FeedState:
    return FeedState(
        id=row.id, name=row.name, url=row.url, enabled=row.enabled,
        poll_minutes=row.poll_minutes, etag=row.etag, last_modified=row.last_modified,
        next_check_at=row.next_check_at, error_count=row.error_count,
        last_error=row.last_error, last_status=row.last_status,
        last_success_at=row.last_success_at, disabled_reason=row.disabled_reason,
        tags=tuple(row.tags or ()),
    )


def sync_config_feeds(conn: Connection, specs: Iterable[FeedSpec], now: datetime) -> None:
    """Make the feeds table reflect config.toml's [[feeds]], keyed by name.

    Feeds added from the CLI/dashboard (from_config = false) are left alone. A config feed
    keeps its polling state across restarts; a changed URL resets conditional-GET state.
    """
    for spec in specs:
        row = conn.execute(select(feeds).where(feeds.c.name == spec.name)).first()
        values = {"poll_minutes": spec.poll_minutes, "tags": list(spec.tags),
                  "from_config": True}
        if row is None:
            conn.execute(insert(feeds).values(
                name=spec.name, url=spec.url, enabled=spec.enabled, created_at=now,
                next_check_at=now, error_count=0, **values))
            continue
        if row.url != spec.url:
            values.update(url=spec.url, etag=None, last_modified=None, next_check_at=now)
        if not row.from_config or row.enabled != spec.enabled:
            # Config is the source of truth for its own feeds' enabled flag, except that a
            # feed disabled for a reason (410 Gone) stays disabled until someone acts.
            if not (row.disabled_reason and spec.enabled):
                values["enabled"] = spec.enabled
        conn.execute(update(feeds).where(feeds.c.id == row.id).values(**values))


def add_feed(conn: Connection, spec: FeedSpec, now: datetime) -> int:
    return int(conn.execute(insert(feeds).values(
        name=spec.name, url=spec.url, enabled=spec.enabled, poll_minutes=spec.poll_minutes,
        tags=list(spec.tags), from_config=False, created_at=now, next_check_at=now,
        error_count=0).returning(feeds.c.id)).scalar_one())


def remove_feed(conn: Connection, name_or_url: str) -> bool:
    """Delete a feed and (by cascade) its articles; True when one was removed."""
    fid = conn.execute(select(feeds.c.id).where(
        or_(feeds.c.name == name_or_url, feeds.c.url == name_or_url))).scalar()
    if fid is None:
        return False
    rollups.subtract_articles(conn, articles.c.feed_id == fid)  # before they go
    conn.execute(delete(articles).where(articles.c.feed_id == fid))
    conn.execute(delete(feeds).where(feeds.c.id == fid))
    return True


def get_feed(conn: Connection, feed_id: int) -> FeedState | None:
    row = conn.execute(select(feeds).where(feeds.c.id == feed_id)).first()
    return None if row is None else _state(row)


def find_feed(conn: Connection, name_or_url: str) -> FeedState | None:
    row = conn.execute(select(feeds).where(
        or_(feeds.c.name == name_or_url, feeds.c.url == name_or_url))).first()
    return None if row is None else _state(row)


def list_feeds(conn: Connection) -> list[FeedState]:
    return [_state(r) for r in conn.execute(select(feeds).order_by(feeds.c.name))]


def due_feeds(conn: Connection, now: datetime) -> list[FeedState]:
    """Enabled feeds whose next_check_at has come (or was never set), oldest first."""
    q = (select(feeds)
         .where(feeds.c.enabled.is_(True))
         .where(or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= now))
         .order_by(feeds.c.next_check_at))
    return [_state(r) for r in conn.execute(q)]


def set_enabled(conn: Connection, feed_id: int, enabled: bool, now: datetime,
                reason: str | None = None) -> None:
    values: dict[str, Any] = {"enabled": enabled, "disabled_reason": None if enabled else reason}
    if enabled:
        values.update(next_check_at=now, error_count=0)
    conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


def record_success(conn: Connection, feed_id: int, *, now: datetime, next_check_at: datetime,
                   status: int, etag: str | None, last_modified: str | None,
                   url: str | None = None, warning: str | None = None) -> None:
    """A fetch (200 or 304) worked: reset the error count, keep validators, schedule next."""
    values: dict[str, Any] = {
        "etag": etag, "last_modified": last_modified, "last_status": status,
        "last_checked_at": now, "last_success_at": now, "next_check_at": next_check_at,
        "error_count": 0, "last_error": warning,
    }
    if url:
        values["url"] = url
    conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


def record_error(conn: Connection, feed_id: int, *, now: datetime, next_check_at: datetime,
                 error: str, status: int | None, disable_reason: str | None = None) -> None:
    """A fetch or parse failed: count it, keep the message, schedule the retry."""
    values: dict[str, Any] = {
        "error_count": feeds.c.error_count + 1, "last_error": error, "last_status": status,
        "last_checked_at": now, "next_check_at": next_check_at,
    }
    if disable_reason:
        values.update(enabled=False, disabled_reason=disable_reason)
    conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


def feed_article_counts(conn: Connection, feed_ids: Sequence[int] | None = None) -> dict[int, int]:
    q = select(articles.c.feed_id, func.count()).group_by(articles.c.feed_id)
    if feed_ids is not None:
        q = q.where(articles.c.feed_id.in_(feed_ids))
    return {fid: n for fid, n in conn.execute(q)}
