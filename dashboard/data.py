"""Cached reads for the pages: DataFrames and figures from monitor.store, keyed by URL and time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.context import engine_for
from monitor.store import stats, views
from monitor.store.views import ArticleFilter
from monitor.types import Task

log = logging.getLogger(__name__)

TASKS: tuple[str, ...] = tuple(t.value for t in Task)
# Cached reads live this long; every write clears them, so a user sees their own change at once.
CACHE_TTL_SECONDS = 20
# Closed trend buckets change only when old articles are re-scored: re-read them hourly.
CLOSED_BUCKETS_TTL_SECONDS = 3600


def now() -> datetime:
    """The current minute, so cached reads keyed on time ranges hit within a minute."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def clear_caches() -> None:
    """Drop every cached read (each write in dashboard.actions calls this)."""
    st.cache_data.clear()


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def article_page(url: str, f: ArticleFilter, before: tuple[datetime, int] | None,
                 limit: int) -> tuple[pd.DataFrame, tuple[datetime, int] | None]:
    with engine_for(url).connect() as conn:
        page = views.article_page(conn, f, limit=limit, before=before)
    return pd.DataFrame(page.rows, columns=list(views.ARTICLE_COLUMNS)), page.next_cursor


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def filter_options(url: str) -> dict[str, list[Any]]:
    with engine_for(url).connect() as conn:
        return views.filter_options(conn)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def key_figures(url: str, start: datetime, end: datetime, baseline_days: float) -> dict[str, Any]:
    with engine_for(url).connect() as conn:
        return views.key_figures(conn, start=start, end=end, baseline_days=baseline_days)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def has_articles(url: str) -> bool:
    with engine_for(url).connect() as conn:
        return views.has_articles(conn)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def all_feeds_failing(url: str) -> bool:
    """Every enabled feed's last poll failed: most likely this machine is offline."""
    with engine_for(url).connect() as conn:
        enabled, failing = views.feed_failure_counts(conn)
    return enabled > 0 and failing == enabled


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def feed_health(url: str, at: datetime) -> pd.DataFrame:
    with engine_for(url).connect() as conn:
        return pd.DataFrame(views.feed_health(conn, now=at))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def alerts(url: str, states: tuple[str, ...]) -> pd.DataFrame:
    with engine_for(url).connect() as conn:
        return pd.DataFrame(views.list_alert_rows(conn, states=states))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def silences(url: str, at: datetime) -> pd.DataFrame:
    from monitor.store import alerts as alert_store

    with engine_for(url).connect() as conn:
        rows = [asdict(r) for r in alert_store.active_silences(conn, at)]
    return pd.DataFrame(rows)


def floor_time(at: datetime, minutes: int) -> datetime:
    """at rounded down to a multiple of `minutes` since the Unix epoch (stats' bucket grid)."""
    step = minutes * 60
    return datetime.fromtimestamp(int(at.timestamp()) // step * step, UTC)


def trend(url: str, start: datetime, end: datetime, bucket_minutes: int, scope_kind: str,
          scope_values: tuple[str, ...]) -> pd.DataFrame:
    """Sentiment index and negative volume per bucket and scope (monitor.store.stats's index).

    Buckets that have closed are cached for an hour and only the open bucket is re-read on
    each refresh: a 90-day range over a million articles costs one scan an hour, not one
    every refresh. Pass a start on the bucket grid (floor_time) so the cache key is stable.
    """
    split = max(start, floor_time(end, bucket_minutes))
    parts = [_trend_open(url, split, end, bucket_minutes, scope_kind, scope_values)]
    if split > start:
        parts.insert(0, _trend_closed(url, start, split, bucket_minutes, scope_kind,
                                      scope_values))
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else _series_frame([])


def _trend(url: str, start: datetime, end: datetime, bucket_minutes: int, scope_kind: str,
           scope_values: tuple[str, ...]) -> pd.DataFrame:
    if end <= start:
        return _series_frame([])
    with engine_for(url).connect() as conn:
        series = stats.sentiment_series(conn, start=start, end=end,
                                        bucket_minutes=bucket_minutes, scope_kind=scope_kind,
                                        scope_values=list(scope_values) or None)
    return _series_frame(series)


@st.cache_data(ttl=CLOSED_BUCKETS_TTL_SECONDS, show_spinner=False)
def _trend_closed(url: str, start: datetime, end: datetime, bucket_minutes: int,
                  scope_kind: str, scope_values: tuple[str, ...]) -> pd.DataFrame:
    return _trend(url, start, end, bucket_minutes, scope_kind, scope_values)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _trend_open(url: str, start: datetime, end: datetime, bucket_minutes: int,
                scope_kind: str, scope_values: tuple[str, ...]) -> pd.DataFrame:
    return _trend(url, start, end, bucket_minutes, scope_kind, scope_values)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def busiest_scopes(url: str, start: datetime, end: datetime, scope_kind: str) -> list[str]:
    """Topic or feed names with scored articles in [start, end), busiest first."""
    with engine_for(url).connect() as conn:
        counts = stats.scope_counts(conn, start=start, end=end, scope_kind=scope_kind)
    return [c.scope_value for c in counts]


TREND_COLUMNS = ["bucket", "scope", "index", "negative", "negative_share", "count"]


def _series_frame(series: Sequence[Any]) -> pd.DataFrame:
    rows = [{"bucket": p.bucket_start, "scope": p.scope_value, "index": p.sentiment_index,
             "negative": p.negative, "negative_share": p.negative_share, "count": p.articles}
            for p in series]
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def model_versions(url: str) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """All model versions (card metrics flattened to columns) and the active one per task."""
    from monitor.scoring import registry  # torch-free by design (tests check it)
    from monitor.store import models

    with engine_for(url).connect() as conn:
        versions = models.list_versions(conn)
        active = {t: registry.active_version(conn, t) for t in TASKS}
    rows = []
    for v in versions:
        flat = {k: val for k, val in (v.metrics or {}).items()
                if isinstance(val, int | float) and not isinstance(val, bool)}
        rows.append({"task": v.task, "version": v.version,
                     "active": active.get(v.task) == v.version, "created_at": v.created_at,
                     "base_model": v.base_model, **flat, **_blend_columns(v.card or {})})
    return pd.DataFrame(rows), active


def _blend_columns(card: dict[str, Any]) -> dict[str, float]:
    """The lexical blend's weight and the encoder's own figures, when the card has them: the
    metrics above are the blend's, so without these a user cannot see what the blend added."""
    lexical = card.get("lexical")
    if not isinstance(lexical, dict) or not lexical.get("kept"):
        return {}
    out = {"lexical_weight": float(lexical.get("weight", 0.0))}
    encoder = card.get("metrics_encoder") or {}
    for key in ("accuracy", "macro_f1"):
        if isinstance(encoder.get(key), int | float):
            out[f"encoder_{key}"] = float(encoder[key])
    return out


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def label_queue(url: str, task: str, since: datetime, limit: int) -> pd.DataFrame:
    with engine_for(url).connect() as conn:
        return pd.DataFrame(views.label_queue(conn, task=task, since=since, limit=limit),
                            columns=list(views.LABEL_QUEUE_COLUMNS))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def label_counts(url: str) -> dict[str, int]:
    from monitor.store import labels

    with engine_for(url).connect() as conn:
        return {t: labels.count_labels(conn, t) for t in TASKS}
