"""Hourly sentiment rollups: the sentiment_rollups table kept in step with articles, and read.

Each row holds, for one scope (all / topic / feed id) and one UTC hour of ``published_at``,
the sums the sentiment index is made of (monitor/store/stats.py): scored articles, negative
ones, sum of ``p_positive - p_negative``, negative weight and negative mass. Writers of the
articles' current score columns take a snapshot of the articles' contributions before and
after their change and apply the difference here, in the same transaction; deleting articles
subtracts theirs. ``rebuild`` recomputes the whole table from articles (backfill / repair).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, case, delete, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

from monitor.store.schema import articles, sentiment_rollups
from monitor.store.sqltime import EPOCH, epoch_of, epoch_seconds

log = logging.getLogger(__name__)

ROLLUP_SECONDS = 3600
_CHUNK = 500
_ROLLUP_KEY = ("scope_kind", "scope_value", "bucket_start")
_SUMS = ("articles", "negatives", "sum_index", "negative_weight", "negative_mass")
# What an article's contribution depends on: any change of these moves the rollups.
_STATE_COLUMNS = (articles.c.id, articles.c.feed_id, articles.c.published_at,
                  articles.c.sentiment, articles.c.sentiment_confidence,
                  articles.c.p_negative, articles.c.p_positive, articles.c.topic)

Key = tuple[str, str, datetime]
Snapshot = dict[int, tuple[Any, ...]]


@dataclass(frozen=True)
class RollupRow:
    """Summed figures of one scope value in one bucket (bucket None: the whole window)."""

    scope_value: str
    bucket: int | None
    articles: int
    negatives: int
    sum_index: float
    negative_weight: float
    negative_mass: float


def floor_hour(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(dt: datetime) -> datetime:
    floored = floor_hour(dt)
    return floored if floored == dt else floored + timedelta(hours=1)


# ---------------------------------------------------------------- upkeep (writers)
def snapshot(conn: Connection, article_ids: Iterable[int]) -> Snapshot:
    """The rollup-relevant columns of these articles, by id (locked on PostgreSQL).

    Taken before and after a change of current scores; ``apply_change`` books the difference.
    FOR UPDATE keeps a concurrent writer from changing the rows between our two snapshots.
    """
    ids = sorted(set(article_ids))
    out: Snapshot = {}
    for i in range(0, len(ids), _CHUNK):
        q = select(*_STATE_COLUMNS).where(articles.c.id.in_(ids[i:i + _CHUNK]))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(of=articles)
        out.update((int(r.id), tuple(r)) for r in conn.execute(q))
    return out


def apply_change(conn: Connection, before: Mapping[int, tuple[Any, ...]],
                 after: Mapping[int, tuple[Any, ...]]) -> int:
    """Subtract the `before` contributions and add the `after` ones; returns rows touched."""
    deltas: dict[Key, list[Any]] = {}
    for aid in set(before) | set(after):
        old, new = before.get(aid), after.get(aid)
        if old == new:
            continue
        if old is not None:
            _accumulate(deltas, old, -1)
        if new is not None:
            _accumulate(deltas, new, +1)
    return _upsert(conn, deltas)


def subtract_articles(conn: Connection, where: ColumnElement[bool]) -> int:
    """Take the articles matching `where` out of the rollups (call before deleting them)."""
    rows = conn.execute(select(*_STATE_COLUMNS).where(where, articles.c.sentiment.is_not(None)))
    return apply_change(conn, {int(r.id): tuple(r) for r in rows}, {})


def _accumulate(deltas: dict[Key, list[Any]], state: tuple[Any, ...], sign: int) -> None:
    _id, feed_id, published_at, sentiment, confidence, p_neg, p_pos, topic = state
    if sentiment is None:  # only scored articles count
        return
    negative = sentiment == "negative"
    # The same expressions as figures.figure_columns, evaluated in Python on the stored values.
    figures = (1, 1 if negative else 0,
               (p_pos if p_pos is not None else 0.0) - (p_neg if p_neg is not None else 0.0),
               (confidence if confidence is not None else 1.0) if negative else 0.0,
               p_neg if p_neg is not None else 0.0)
    hour = floor_hour(published_at)
    scopes = [("all", "all"), ("feed", str(feed_id))]
    if topic is not None:
        scopes.append(("topic", str(topic)))
    for kind, value in scopes:
        acc = deltas.setdefault((kind, value, hour), [0, 0, 0.0, 0.0, 0.0])
        for k, x in enumerate(figures):
            acc[k] += sign * x


def _upsert(conn: Connection, deltas: Mapping[Key, Sequence[Any]]) -> int:
    """Add the deltas to their rows in one executemany (portable INSERT .. ON CONFLICT)."""
    # Sorted: one lock order for every writer. All-zero deltas (a topic change leaves the
    # all and feed scopes as they were) are skipped.
    rows = [dict(zip(_ROLLUP_KEY, key, strict=True)) | dict(zip(_SUMS, sums, strict=True))
            for key, sums in sorted(deltas.items()) if any(sums)]
    if not rows:
        return 0
    ins = (pg_insert(sentiment_rollups) if conn.dialect.name == "postgresql"
           else sqlite_insert(sentiment_rollups))
    t, new = sentiment_rollups.c, ins.excluded
    # A bucket that becomes empty is reset to exact zeros, so float residue never builds up.
    emptied = (t.articles + new.articles) == 0
    set_: dict[str, Any] = {"articles": t.articles + new.articles,
                            "negatives": t.negatives + new.negatives}
    for col in ("sum_index", "negative_weight", "negative_mass"):
        set_[col] = case((emptied, 0.0), else_=t[col] + new[col])
    conn.execute(ins.on_conflict_do_update(index_elements=list(_ROLLUP_KEY), set_=set_), rows)
    return len(rows)


# ---------------------------------------------------------------- backfill
def rebuild(conn: Connection) -> int:
    """Recompute the whole table from the articles' current columns; idempotent.

    For databases filled before the table existed or by tools that bypass the store's
    writers (bulk loads). Returns the number of rollup rows written.
    """
    conn.execute(delete(sentiment_rollups))
    hour = (epoch_seconds(articles.c.published_at)
            // literal_column(str(ROLLUP_SECONDS), Integer)).label("h")
    is_neg = articles.c.sentiment == "negative"
    p_neg = func.coalesce(articles.c.p_negative, 0.0)
    p_pos = func.coalesce(articles.c.p_positive, 0.0)
    sums = [func.count(), func.sum(case((is_neg, 1), else_=0)), func.sum(p_pos - p_neg),
            func.sum(case((is_neg, func.coalesce(articles.c.sentiment_confidence, 1.0)),
                          else_=0.0)),
            func.sum(p_neg)]
    written = 0
    for kind, col in (("all", None), ("topic", articles.c.topic), ("feed", articles.c.feed_id)):
        q = select(hour, *sums).where(articles.c.sentiment.is_not(None))
        if col is None:
            q = q.add_columns(literal_column("'all'").label("scope"))
        else:
            q = q.add_columns(col.label("scope")).where(col.is_not(None)).group_by(col)
        rows = [{"scope_kind": kind, "scope_value": str(r.scope),
                 "bucket_start": EPOCH + timedelta(seconds=int(r.h) * ROLLUP_SECONDS),
                 **dict(zip(_SUMS, (int(r[1]), int(r[2] or 0), float(r[3] or 0.0),
                                    float(r[4] or 0.0), float(r[5] or 0.0)), strict=True))}
                for r in conn.execute(q.group_by(hour))]
        for i in range(0, len(rows), 5000):
            conn.execute(insert(sentiment_rollups), rows[i:i + 5000])
        written += len(rows)
        log.info("rebuilt %d %s rollup rows", len(rows), kind)
    return written


# ---------------------------------------------------------------- reading
def read(conn: Connection, *, kind: str, start: datetime, end: datetime,
         scope_values: Sequence[str] | None = None, bucket_seconds: int | None = None,
         origin: datetime = EPOCH) -> list[RollupRow]:
    """Summed rollup rows of whole hours in [start, end) (both on the hour), per scope value
    and, with bucket_seconds, per bucket number counted from origin (both multiples of an
    hour from the epoch, so every hour falls in exactly one bucket)."""
    t = sentiment_rollups.c
    cols: list[Any] = [t.scope_value, *(func.sum(t[c]).label(c) for c in _SUMS)]
    q = select(*cols).where(t.scope_kind == kind, t.bucket_start >= start, t.bucket_start < end)
    if scope_values is not None:
        q = q.where(t.scope_value.in_(list(scope_values)))
    q = q.group_by(t.scope_value)
    bucket: Any = None
    if bucket_seconds is not None:
        offset = epoch_seconds(t.bucket_start) - literal_column(str(epoch_of(origin)), Integer)
        bucket = (offset // literal_column(str(bucket_seconds), Integer)).label("b")
        q = q.add_columns(bucket).group_by(bucket)
    return [RollupRow(scope_value=str(r.scope_value),
                      bucket=None if bucket is None else int(r.b),
                      articles=int(r.articles or 0), negatives=int(r.negatives or 0),
                      sum_index=float(r.sum_index or 0.0),
                      negative_weight=float(r.negative_weight or 0.0),
                      negative_mass=float(r.negative_mass or 0.0))
            for r in conn.execute(q)]
