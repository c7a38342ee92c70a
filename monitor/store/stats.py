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
The SQL over the articles is built in monitor/store/figures.py; this module answers the
queries and merges rollup sums with edge-hour sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from monitor.store import rollups
from monitor.store.figures import (
    bucket_args,
    bucketed_rows,
    check_window,
    edge_rows,
    feed_ids,
    feed_names,
    figure_columns,
    figures_of,
    scope_column,
    scope_value,
    scoped_query,
)
from monitor.store.rollups import RollupRow
from monitor.store.sqltime import EPOCH, epoch_of


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
    bucket_s, origin = bucket_args(start, end, bucket_minutes, origin)
    aligned = bucket_s % rollups.ROLLUP_SECONDS == 0 \
        and epoch_of(origin) % rollups.ROLLUP_SECONDS == 0
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
    rows, names, origin, bucket_s = bucketed_rows(
        conn, start=start, end=end, bucket_minutes=bucket_minutes, scope_kind=scope_kind,
        scope_values=scope_values, origin=origin)
    return _series_points(scope_kind, origin, bucket_s,
                          ((int(row.b), scope_value(row, scope_kind, names), figures_of(row))
                           for row in rows))


def _series_points(scope_kind: str, origin: datetime, bucket_s: int,
                   buckets: Iterable[tuple[int, str, dict[str, Any]]]) -> list[SeriesPoint]:
    """(bucket number, scope value, figures) -> SeriesPoints sorted by scope, then time."""
    points = []
    for bucket, value, figures in buckets:
        b_start = origin + timedelta(seconds=bucket * bucket_s)
        points.append(SeriesPoint(scope_kind=scope_kind, scope_value=value,
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
    rows, names, _, _ = bucketed_rows(conn, start=start, end=end, bucket_minutes=bucket_minutes,
                                      scope_kind=scope_kind, scope_values=None, origin=origin)
    return [(scope_value(r, scope_kind, names), int(r.b), int(r.n), int(r.neg or 0),
             float(r.neg_w or 0.0)) for r in rows]


def scope_counts(conn: Connection, *, start: datetime, end: datetime, scope_kind: str = "all",
                 scope_values: Sequence[str] | None = None) -> list[ScopeCount]:
    """The sentiment index per scope totalled over [start, end), busiest scope first.

    Whole hours come from the hourly rollups, partial edge hours from the articles; the
    figures are those of _raw_scope_counts up to float rounding in the last digits.
    """
    check_window(start, end)
    combined = _with_rollups(conn, start=start, end=end, scope_kind=scope_kind,
                             scope_values=scope_values, bucket_s=None, origin=EPOCH)
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
    q, names = scoped_query(conn, figure_columns(), start=start, end=end,
                            scope_kind=scope_kind, scope_values=scope_values)
    out = [ScopeCount(scope_kind=scope_kind, scope_value=scope_value(r, scope_kind, names),
                      **figures_of(r))
           for r in conn.execute(q) if int(r.n)]
    out.sort(key=lambda c: (-c.articles, c.scope_value))
    return out


# ---------------------------------------------------------------- rollups + raw edges
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
        names = feed_ids(conn, scope_values) if scope_values is not None else feed_names(conn)
        values = None if scope_values is None else [str(i) for i in names]
    parts = rollups.read(conn, kind=scope_kind, start=first, end=last, scope_values=values,
                         bucket_seconds=bucket_s, origin=origin)
    for a, b in ((start, first), (last, end)):
        if a < b:
            parts += edge_rows(conn, start=a, end=b, scope_kind=scope_kind,
                               scope_values=scope_values, bucket_s=bucket_s, origin=origin)
    sums: dict[tuple[str, int | None], list[Any]] = {}
    for r in parts:
        acc = sums.setdefault((r.scope_value, r.bucket), [0, 0, 0.0, 0.0, 0.0])
        for k, x in enumerate((r.articles, r.negatives, r.sum_index, r.negative_weight,
                               r.negative_mass)):
            acc[k] += x
    return [RollupRow(value, bucket, *acc) for (value, bucket), acc in sums.items()
            if acc[0] > 0], names


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
