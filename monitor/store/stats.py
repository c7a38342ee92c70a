"""The sentiment index: the one SQL definition of per-scope, per-bucket sentiment figures.

Definition (used by alerts and the dashboard alike). Over the SCORED articles (sentiment
label set) whose ``published_at`` falls in ``[start, end)``, per scope and time bucket:

- ``articles``          number of scored articles;
- ``negative``          number of them labelled ``negative``;
- ``negative_share``    ``negative / articles``;
- ``sentiment_index``   mean of ``p_positive - p_negative`` (from -1, all negative, to +1);
- ``negative_weight``   the confidence-weighted negative count: the sum of the classifier's
                        confidence over negative-labelled articles (what alerts test);
- ``negative_mass``     the sum of ``p_negative`` over all articles (soft negative count).

Scopes: ``all`` (every scored article, scope value ``"all"``), ``topic`` (the article's
current topic; articles without a topic are left out), ``feed`` (the feed's name). Buckets
are ``bucket_minutes`` long and aligned to ``origin`` (default: the Unix epoch, so hourly
buckets start on the hour); bucketing is integer epoch arithmetic done in SQL on SQLite and
PostgreSQL alike, filtered on ``published_at`` so the (topic|feed_id, published_at) indexes
serve it. sentiment_series (hour-multiple buckets) and scope_counts read whole hours from the
hourly rollups (monitor/store/rollups.py) and only partial edge hours from the articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from monitor.errors import StoreError
from monitor.store import rollups
from monitor.store.rollups import RollupRow
from monitor.store.schema import articles, feeds
from monitor.store.sqltime import EPOCH, epoch_seconds

SCOPE_KINDS: tuple[str, ...] = ("all", "topic", "feed")
ALL_SCOPE_VALUE = "all"
_EPOCH = EPOCH


@dataclass(frozen=True)
class ScopeCount:
    """The figures of one scope totalled over one window [start, end) (module docstring)."""

    scope_kind: str
    scope_value: str
    articles: int
    negative: int
    negative_share: float
    sentiment_index: float
    negative_weight: float
    negative_mass: float


@dataclass(frozen=True)
class SeriesPoint(ScopeCount):
    """The same figures for one scope in one time bucket [bucket_start, bucket_end)."""

    bucket_start: datetime
    bucket_end: datetime


def _epoch(dt: datetime) -> int:
    return int((dt - _EPOCH).total_seconds())


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


def _figures() -> list[ColumnElement[Any]]:
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


def _feed_ids(conn: Connection, names: Sequence[str]) -> dict[int, str]:
    rows = conn.execute(select(feeds.c.id, feeds.c.name).where(feeds.c.name.in_(list(names))))
    return {int(r.id): str(r.name) for r in rows}


def _feed_names(conn: Connection) -> dict[int, str]:
    return {int(r.id): str(r.name) for r in conn.execute(select(feeds.c.id, feeds.c.name))}


def _scoped_query(conn: Connection, select_cols: list[Any], *, start: datetime, end: datetime,
                  scope_kind: str,
                  scope_values: Sequence[str] | None) -> tuple[Any, dict[int, str]]:
    """A SELECT over scored articles in [start, end) restricted to the scope values."""
    col = scope_column(scope_kind)
    q = select(*select_cols).where(articles.c.published_at >= start,
                                   articles.c.published_at < end,
                                   articles.c.sentiment.is_not(None))
    names: dict[int, str] = {}
    if scope_kind == "feed":
        names = _feed_ids(conn, scope_values) if scope_values is not None else _feed_names(conn)
        if scope_values is not None:
            q = q.where(articles.c.feed_id.in_(list(names)))
    elif scope_kind == "topic":
        q = q.where(articles.c.topic.is_not(None))
        if scope_values is not None:
            q = q.where(articles.c.topic.in_(list(scope_values)))
    if col is not None:
        q = q.add_columns(col.label("scope")).group_by(col)
    return q, names


def _scope_value(row: Any, kind: str, names: dict[int, str]) -> str:
    if kind == "all":
        return ALL_SCOPE_VALUE
    if kind == "feed":
        return names.get(int(row.scope), f"feed #{row.scope}")
    return str(row.scope)


def _figures_of(row: Any) -> dict[str, Any]:
    n, neg = int(row.n), int(row.neg or 0)
    return {"articles": n, "negative": neg, "negative_share": neg / n if n else 0.0,
            "sentiment_index": float(row.index or 0.0),
            "negative_weight": float(row.neg_w or 0.0),
            "negative_mass": float(row.neg_mass or 0.0)}


def _bucketed(conn: Connection, *, start: datetime, end: datetime, bucket_minutes: float,
              scope_kind: str, scope_values: Sequence[str] | None,
              origin: datetime | None) -> tuple[list[Any], dict[int, str], datetime, int]:
    bucket_s, origin = _bucket_args(start, end, bucket_minutes, origin)
    if scope_values is not None and not scope_values:
        return [], {}, origin, bucket_s
    # Literal integers, not bind parameters: PostgreSQL must see the GROUP BY expression as
    # identical to the selected one.
    offset = epoch_seconds(articles.c.published_at) - literal_column(str(_epoch(origin)), Integer)
    bucket = (offset // literal_column(str(bucket_s), Integer)).label("b")
    q, names = _scoped_query(conn, [*_figures(), bucket], start=start, end=end,
                             scope_kind=scope_kind, scope_values=scope_values)
    return list(conn.execute(q.group_by(bucket))), names, origin, bucket_s


def sentiment_series(conn: Connection, *, start: datetime, end: datetime, bucket_minutes: float,
                     scope_kind: str = "all", scope_values: Sequence[str] | None = None,
                     origin: datetime | None = None) -> list[SeriesPoint]:
    """The sentiment index per scope and bucket over [start, end) (see the module docstring).

    scope_values limits the scopes (topic names, feed names); None means every scope with
    data. Buckets are aligned to origin (default the Unix epoch; it must not be after start)
    and only non-empty buckets are returned, sorted by scope value then bucket start. The
    first and last buckets are clipped to [start, end) in what they count.

    Buckets of whole hours aligned to the hour read the whole hours from the hourly rollups
    (monitor/store/rollups.py) and only the partial hours at the edges from the articles;
    the figures are those of the raw computation (_raw_sentiment_series), up to float
    rounding in the last digits.
    """
    bucket_s, origin = _bucket_args(start, end, bucket_minutes, origin)
    aligned = bucket_s % rollups.ROLLUP_SECONDS == 0 \
        and _epoch(origin) % rollups.ROLLUP_SECONDS == 0
    combined = _with_rollups(conn, start=start, end=end, scope_kind=scope_kind,
                             scope_values=scope_values, bucket_s=bucket_s,
                             origin=origin) if aligned else None
    if combined is None:
        return _raw_sentiment_series(conn, start=start, end=end, bucket_minutes=bucket_minutes,
                                     scope_kind=scope_kind, scope_values=scope_values,
                                     origin=origin)
    rows, names = combined
    return _series_points(scope_kind, origin, bucket_s,
                          ((int(r.bucket or 0), _rollup_scope_value(r, scope_kind, names),
                            _summed_figures(r)) for r in rows))


def _raw_sentiment_series(conn: Connection, *, start: datetime, end: datetime,
                          bucket_minutes: float, scope_kind: str = "all",
                          scope_values: Sequence[str] | None = None,
                          origin: datetime | None = None) -> list[SeriesPoint]:
    """sentiment_series computed from the articles alone: the definition, kept as the
    reference the rollup path is tested against and used for sub-hour buckets."""
    rows, names, origin, bucket_s = _bucketed(
        conn, start=start, end=end, bucket_minutes=bucket_minutes, scope_kind=scope_kind,
        scope_values=scope_values, origin=origin)
    return _series_points(scope_kind, origin, bucket_s,
                          ((int(row.b), _scope_value(row, scope_kind, names), _figures_of(row))
                           for row in rows))


def _series_points(scope_kind: str, origin: datetime, bucket_s: int,
                   buckets: Iterable[tuple[int, str, dict[str, Any]]]) -> list[SeriesPoint]:
    """(bucket number, scope value, figures) -> SeriesPoints sorted by scope, then time."""
    points = []
    for bucket, scope_value, figures in buckets:
        b_start = origin + timedelta(seconds=bucket * bucket_s)
        points.append(SeriesPoint(scope_kind=scope_kind, scope_value=scope_value,
                                  bucket_start=b_start,
                                  bucket_end=b_start + timedelta(seconds=bucket_s), **figures))
    points.sort(key=lambda p: (p.scope_value, p.bucket_start))
    return points


def bucket_counts(conn: Connection, *, start: datetime, end: datetime, bucket_minutes: float,
                  scope_kind: str = "all",
                  origin: datetime | None = None) -> list[tuple[str, int, int, int, float]]:
    """The figures alerts need, lean: (scope value, bucket number from origin, articles,
    negative, negative_weight) per non-empty scope and bucket; same definition and
    arguments as sentiment_series, for callers reading thousands of buckets a minute."""
    rows, names, _, _ = _bucketed(conn, start=start, end=end, bucket_minutes=bucket_minutes,
                                  scope_kind=scope_kind, scope_values=None, origin=origin)
    return [(_scope_value(r, scope_kind, names), int(r.b), int(r.n), int(r.neg or 0),
             float(r.neg_w or 0.0)) for r in rows]


def scope_counts(conn: Connection, *, start: datetime, end: datetime, scope_kind: str = "all",
                 scope_values: Sequence[str] | None = None) -> list[ScopeCount]:
    """The sentiment index per scope totalled over [start, end), busiest scope first.

    Whole hours come from the hourly rollups, partial edge hours from the articles; the
    figures are those of _raw_scope_counts up to float rounding in the last digits.
    """
    check_window(start, end)
    combined = _with_rollups(conn, start=start, end=end, scope_kind=scope_kind,
                             scope_values=scope_values, bucket_s=None, origin=_EPOCH)
    if combined is None:
        return _raw_scope_counts(conn, start=start, end=end, scope_kind=scope_kind,
                                 scope_values=scope_values)
    rows, names = combined
    out = [ScopeCount(scope_kind=scope_kind,
                      scope_value=_rollup_scope_value(r, scope_kind, names),
                      **_summed_figures(r)) for r in rows]
    out.sort(key=lambda c: (-c.articles, c.scope_value))
    return out


def _raw_scope_counts(conn: Connection, *, start: datetime, end: datetime,
                      scope_kind: str = "all",
                      scope_values: Sequence[str] | None = None) -> list[ScopeCount]:
    """scope_counts computed from the articles alone (the reference definition)."""
    check_window(start, end)
    if scope_values is not None and not scope_values:
        return []
    q, names = _scoped_query(conn, _figures(), start=start, end=end,
                             scope_kind=scope_kind, scope_values=scope_values)
    out = [ScopeCount(scope_kind=scope_kind, scope_value=_scope_value(r, scope_kind, names),
                      **_figures_of(r))
           for r in conn.execute(q) if int(r.n)]
    out.sort(key=lambda c: (-c.articles, c.scope_value))
    return out


# ---------------------------------------------------------------- rollups + raw edges
def _bucket_args(start: datetime, end: datetime, bucket_minutes: float,
                 origin: datetime | None) -> tuple[int, datetime]:
    check_window(start, end)
    bucket_s = int(round(bucket_minutes * 60))
    if bucket_s < 1:
        raise StoreError(f"bucket_minutes must be at least 1 second, got {bucket_minutes}")
    origin = origin or _EPOCH
    if origin > start:
        raise StoreError(f"bucket origin {origin} is after the window start {start}")
    return bucket_s, origin


def _with_rollups(conn: Connection, *, start: datetime, end: datetime, scope_kind: str,
                  scope_values: Sequence[str] | None, bucket_s: int | None,
                  origin: datetime) -> tuple[list[RollupRow], dict[int, str]] | None:
    """Non-empty figures per scope value (and bucket): rollups for the whole hours inside
    [start, end), articles for the partial hours at its edges. None when the window holds
    no whole hour (the raw query is then as cheap)."""
    scope_column(scope_kind)  # validates the kind
    first, last = rollups.ceil_hour(start), rollups.floor_hour(end)
    if last <= first:
        return None
    if scope_values is not None and not scope_values:
        return [], {}
    names: dict[int, str] = {}
    values = scope_values if scope_kind == "topic" else None
    if scope_kind == "feed":
        names = _feed_ids(conn, scope_values) if scope_values is not None else _feed_names(conn)
        values = None if scope_values is None else [str(i) for i in names]
    parts = rollups.read(conn, kind=scope_kind, start=first, end=last, scope_values=values,
                         bucket_seconds=bucket_s, origin=origin)
    for a, b in ((start, first), (last, end)):
        if a < b:
            parts += _raw_rows(conn, start=a, end=b, scope_kind=scope_kind,
                               scope_values=scope_values, bucket_s=bucket_s, origin=origin)
    sums: dict[tuple[str, int | None], list[Any]] = {}
    for r in parts:
        acc = sums.setdefault((r.scope_value, r.bucket), [0, 0, 0.0, 0.0, 0.0])
        for k, x in enumerate((r.articles, r.negatives, r.sum_index, r.negative_weight,
                               r.negative_mass)):
            acc[k] += x
    return [RollupRow(value, bucket, *acc) for (value, bucket), acc in sums.items()
            if acc[0] > 0], names


def _raw_rows(conn: Connection, *, start: datetime, end: datetime, scope_kind: str,
              scope_values: Sequence[str] | None, bucket_s: int | None,
              origin: datetime) -> list[RollupRow]:
    """The rollup sums computed from the articles in [start, end) (an edge of a window)."""
    cols = [*_figures(), func.sum(func.coalesce(articles.c.p_positive, 0.0)
                                  - func.coalesce(articles.c.p_negative, 0.0)).label("sidx")]
    bucket: Any = None
    if bucket_s is not None:
        offset = epoch_seconds(articles.c.published_at) \
            - literal_column(str(_epoch(origin)), Integer)
        bucket = (offset // literal_column(str(bucket_s), Integer)).label("b")
        cols.append(bucket)
    q, _ = _scoped_query(conn, cols, start=start, end=end, scope_kind=scope_kind,
                         scope_values=scope_values)
    if bucket is not None:
        q = q.group_by(bucket)
    return [RollupRow(scope_value=ALL_SCOPE_VALUE if scope_kind == "all" else str(r.scope),
                      bucket=None if bucket is None else int(r.b), articles=int(r.n),
                      negatives=int(r.neg or 0), sum_index=float(r.sidx or 0.0),
                      negative_weight=float(r.neg_w or 0.0),
                      negative_mass=float(r.neg_mass or 0.0))
            for r in conn.execute(q) if int(r.n)]


def _rollup_scope_value(row: RollupRow, kind: str, names: dict[int, str]) -> str:
    if kind == "feed":
        return names.get(int(row.scope_value), f"feed #{row.scope_value}")
    return row.scope_value


def _summed_figures(row: RollupRow) -> dict[str, Any]:
    n = row.articles
    return {"articles": n, "negative": row.negatives,
            "negative_share": row.negatives / n if n else 0.0,
            "sentiment_index": row.sum_index / n if n else 0.0,
            "negative_weight": row.negative_weight, "negative_mass": row.negative_mass}
