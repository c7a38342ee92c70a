"""SQL for the articles table: dedup-aware inserts and reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.store.schema import articles
from monitor.types import Article, Entry


def _article(row: Any) -> Article:
    return Article(id=row.id, feed_id=row.feed_id, guid=row.guid, link=row.link,
                   title=row.title, summary=row.summary, published_at=row.published_at,
                   fetched_at=row.fetched_at, content_hash=row.content_hash)


def insert_entries(conn: Connection, feed_id: int, entries: Sequence[Entry],
                   fetched_at: datetime) -> int:
    """Insert entries not seen before; returns how many were new.

    Dedup is two-fold: (feed, guid) is unique, and an entry whose content hash is already
    stored (for any feed: a re-published copy) is skipped. Duplicates inside one document
    are collapsed first. Runs inside the caller's transaction, so a crash stores all or none.
    """
    if not entries:
        return 0
    by_guid: dict[str, Entry] = {}
    for e in entries:
        by_guid.setdefault(e.guid, e)
    hashes = list({e.content_hash for e in by_guid.values()})
    known_hashes: set[str] = set()
    for i in range(0, len(hashes), 500):  # stay under SQLite's bound-parameter limit
        chunk = hashes[i:i + 500]
        known_hashes.update(conn.execute(
            select(articles.c.content_hash).where(articles.c.content_hash.in_(chunk))).scalars())
    rows, seen_hashes = [], set(known_hashes)
    for e in by_guid.values():
        if e.content_hash in seen_hashes:
            continue
        seen_hashes.add(e.content_hash)
        rows.append({"feed_id": feed_id, "guid": e.guid, "link": e.link, "title": e.title,
                     "summary": e.summary, "published_at": e.published_at,
                     "fetched_at": fetched_at, "content_hash": e.content_hash})
    if not rows:
        return 0
    before = count_articles(conn, feed_id)
    ins = pg_insert(articles) if conn.dialect.name == "postgresql" else sqlite_insert(articles)
    conn.execute(ins.on_conflict_do_nothing(index_elements=["feed_id", "guid"]), rows)
    return count_articles(conn, feed_id) - before


def count_articles(conn: Connection, feed_id: int | None = None) -> int:
    q = select(func.count()).select_from(articles)
    if feed_id is not None:
        q = q.where(articles.c.feed_id == feed_id)
    return int(conn.execute(q).scalar_one())


def get_articles(conn: Connection, ids: Sequence[int]) -> list[Article]:
    rows = conn.execute(select(articles).where(articles.c.id.in_(list(ids))))
    return [_article(r) for r in rows]


def list_articles(conn: Connection, *, feed_id: int | None = None,
                  limit: int = 100) -> list[Article]:
    q = select(articles).order_by(articles.c.published_at.desc(), articles.c.id.desc())
    if feed_id is not None:
        q = q.where(articles.c.feed_id == feed_id)
    return [_article(r) for r in conn.execute(q.limit(limit))]
