"""The sentiment figures in SQL over the scored articles: windows, scopes, buckets, sums.

These are the building blocks of the definition in monitor/store/stats.py: which articles a
window and scope select, the figure columns summed over them, the integer epoch bucket
expression, and the mapping of result rows back to scope values and figures. Queries built
here read the articles table only; monitor/store/stats.py decides when to read the hourly
rollups instead and merges the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from monitor.errors import StoreError
from monitor.store.rollups import RollupRow
from monitor.store.schema import articles, feeds
from monitor.store.sqltime import EPOCH, epoch_of, epoch_seconds

SCOPE_KINDS: tuple[str, ...] = ("all", "topic", "feed")
ALL_SCOPE_VALUE = "all"


def check_window(start: datetime, end: datetime) -> None:
    """StoreError unless [start, end) is a non-empty window of aware datetimes."""
    if start.tzinfo is None or end.tzinfo is None:
        raise StoreError("sentiment statistics need aware UTC start/end datetimes")
    if end <= start:
        raise StoreError(f"empty statistics window: end {end} is not after start {start}")


def scope_column(kind: str) -> ColumnElement[Any] | None:
    """The articles column a scope kind groups by (None for "all"); StoreError if unknown."""
    if kind == "all":
        return None
    if kind == "topic":
        return articles.c.topic
    if kind == "feed":
        return articles.c.feed_id
    raise StoreError(f"unknown scope kind {kind!r}; expected one of {', '.join(SCOPE_KINDS)}")


def bucket_args(start: datetime, end: datetime, bucket_minutes: float,
                origin: datetime | None) -> tuple[int, datetime]:
    """(bucket length in whole seconds, origin defaulting to the epoch), both checked."""
    check_window(start, end)
    bucket_s = int(round(bucket_minutes * 60))
    if bucket_s < 1:
        raise StoreError(f"bucket_minutes must be at least 1 second, got {bucket_minutes}")
    origin = origin or EPOCH
    if origin > start:
        raise StoreError(f"bucket origin {origin} is after the window start {start}")
    return bucket_s, origin


def figure_columns() -> list[ColumnElement[Any]]:
    """The figures summed per group: n, neg, neg_w, neg_mass and the mean index."""
    is_neg = articles.c.sentiment == "negative"
    return [
        func.count().label("n"),
        func.sum(case((is_neg, 1), else_=0)).label("neg"),
        func.sum(case((is_neg, func.coalesce(articles.c.sentiment_confidence, 1.0)),
                      else_=0.0)).label("neg_w"),
        func.sum(func.coalesce(articles.c.p_negative, 0.0)).label("neg_mass"),
        func.avg(func.coalesce(articles.c.p_positive, 0.0)
                 - func.coalesce(articles.c.p_negative, 0.0)).label("index"),
    ]


def bucket_column(origin: datetime, bucket_s: int) -> ColumnElement[Any]:
    """The bucket number of an article's published_at, counted from origin (labelled b)."""
    # Literal integers, not bind parameters: PostgreSQL must see the GROUP BY expression as
    # identical to the selected one.
    offset = epoch_seconds(articles.c.published_at) - literal_column(str(epoch_of(origin)),
                                                                     Integer)
    return (offset // literal_column(str(bucket_s), Integer)).label("b")


def feed_ids(conn: Connection, names: Sequence[str]) -> dict[int, str]:
    """Feed id -> name for the feeds with the given names."""
    rows = conn.execute(select(feeds.c.id, feeds.c.name).where(feeds.c.name.in_(list(names))))
    return {int(r.id): str(r.name) for r in rows}


def feed_names(conn: Connection) -> dict[int, str]:
    """Feed id -> name for every feed."""
    return {int(r.id): str(r.name) for r in conn.execute(select(feeds.c.id, feeds.c.name))}


def scoped_query(conn: Connection, select_cols: list[Any], *, start: datetime, end: datetime,
                 scope_kind: str,
                 scope_values: Sequence[str] | None) -> tuple[Any, dict[int, str]]:
    """A SELECT over scored articles in [start, end) restricted to the scope values."""
    col = scope_column(scope_kind)
    q = select(*select_cols).where(articles.c.published_at >= start,
                                   articles.c.published_at < end,
                                   articles.c.sentiment.is_not(None))
    names: dict[int, str] = {}
    if scope_kind == "feed":
        names = feed_ids(conn, scope_values) if scope_values is not None else feed_names(conn)
        if scope_values is not None:
            q = q.where(articles.c.feed_id.in_(list(names)))
    elif scope_kind == "topic":
        q = q.where(articles.c.topic.is_not(None))
        if scope_values is not None:
            q = q.where(articles.c.topic.in_(list(scope_values)))
    if col is not None:
        q = q.add_columns(col.label("scope")).group_by(col)
    return q, names


def scope_value(row: Any, kind: str, names: dict[int, str]) -> str:
    """The scope value a result row of scoped_query stands for (a feed's name, not its id)."""
    if kind == "all":
        return ALL_SCOPE_VALUE
    if kind == "feed":
        return names.get(int(row.scope), f"feed #{row.scope}")
    return str(row.scope)


def figures_of(row: Any) -> dict[str, Any]:
    """The figure_columns of a result row as the ScopeCount fields."""
    n, neg = int(row.n), int(row.neg or 0)
    return {"articles": n, "negative": neg, "negative_share": neg / n if n else 0.0,
            "sentiment_index": float(row.index or 0.0),
            "negative_weight": float(row.neg_w or 0.0),
            "negative_mass": float(row.neg_mass or 0.0)}


def bucketed_rows(conn: Connection, *, start: datetime, end: datetime, bucket_minutes: float,
                  scope_kind: str, scope_values: Sequence[str] | None,
                  origin: datetime | None) -> tuple[list[Any], dict[int, str], datetime, int]:
    """The figure rows per scope and bucket (b) over [start, end), the feed names, the
    origin and the bucket length in seconds."""
    bucket_s, origin = bucket_args(start, end, bucket_minutes, origin)
    if scope_values is not None and not scope_values:
        return [], {}, origin, bucket_s
    bucket = bucket_column(origin, bucket_s)
    q, names = scoped_query(conn, [*figure_columns(), bucket], start=start, end=end,
                            scope_kind=scope_kind, scope_values=scope_values)
    return list(conn.execute(q.group_by(bucket))), names, origin, bucket_s


def edge_rows(conn: Connection, *, start: datetime, end: datetime, scope_kind: str,
              scope_values: Sequence[str] | None, bucket_s: int | None,
              origin: datetime) -> list[RollupRow]:
    """The rollup sums computed from the articles in [start, end) (an edge of a window)."""
    cols = [*figure_columns(), func.sum(func.coalesce(articles.c.p_positive, 0.0)
                                        - func.coalesce(articles.c.p_negative, 0.0)).label("sidx")]
    bucket: Any = None
    if bucket_s is not None:
        bucket = bucket_column(origin, bucket_s)
        cols.append(bucket)
    q, _ = scoped_query(conn, cols, start=start, end=end, scope_kind=scope_kind,
                        scope_values=scope_values)
    if bucket is not None:
        q = q.group_by(bucket)
    return [RollupRow(scope_value=ALL_SCOPE_VALUE if scope_kind == "all" else str(r.scope),
                      bucket=None if bucket is None else int(r.b), articles=int(r.n),
                      negatives=int(r.neg or 0), sum_index=float(r.sidx or 0.0),
                      negative_weight=float(r.neg_w or 0.0),
                      negative_mass=float(r.neg_mass or 0.0))
            for r in conn.execute(q) if int(r.n)]
