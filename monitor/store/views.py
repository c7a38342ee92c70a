"""Read-only SQL for the dashboard: article pages, feed health, key figures, alert lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from monitor.store import search
from monitor.store.schema import alerts, articles, feeds, labels

# Columns of one article row as the dashboard shows it (current scores included).
ARTICLE_COLUMNS = (
    "id", "published_at", "feed", "title", "link", "sentiment", "sentiment_confidence",
    "p_negative", "p_neutral", "p_positive", "sentiment_version", "topic",
    "topic_confidence", "topic_version",
)


@dataclass(frozen=True)
class ArticleFilter:
    """What the articles page filters on; empty tuples mean "any"."""

    start: datetime | None = None
    end: datetime | None = None
    topics: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    feed_ids: tuple[int, ...] = ()
    min_confidence: float | None = None  # on the sentiment prediction's confidence
    text: str = ""  # case-insensitive substring of title or summary, from a word start


@dataclass(frozen=True)
class ArticlePage:
    """One page of articles, newest first, and the cursor to the next (older) page."""

    rows: list[dict[str, Any]]
    next_cursor: tuple[datetime, int] | None


def _article_conditions(conn: Connection, f: ArticleFilter) -> list[Any]:
    cond: list[Any] = []
    if f.start is not None:
        cond.append(articles.c.published_at >= f.start)
    if f.end is not None:
        cond.append(articles.c.published_at < f.end)
    if f.topics:
        cond.append(articles.c.topic.in_(f.topics))
    if f.sentiments:
        cond.append(articles.c.sentiment.in_(f.sentiments))
    if f.feed_ids:
        cond.append(articles.c.feed_id.in_(f.feed_ids))
    if f.min_confidence is not None and f.min_confidence > 0:
        cond.append(articles.c.sentiment_confidence >= f.min_confidence)
    text = f.text.strip()
    if text:
        cond.append(search.text_condition(conn, text))
    return cond


def article_page(conn: Connection, f: ArticleFilter, *, limit: int = 50,
                 before: tuple[datetime, int] | None = None) -> ArticlePage:
    """Articles matching f, newest first, `limit` per page (keyset paging on published_at, id).

    Keyset rather than OFFSET paging: page 1000 costs what page 1 costs on a million rows.
    """
    cols = [articles.c.id, articles.c.published_at, feeds.c.name.label("feed"),
            articles.c.title, articles.c.link, articles.c.sentiment,
            articles.c.sentiment_confidence, articles.c.p_negative, articles.c.p_neutral,
            articles.c.p_positive, articles.c.sentiment_version, articles.c.topic,
            articles.c.topic_confidence, articles.c.topic_version]
    q = select(*cols).join(feeds, feeds.c.id == articles.c.feed_id)
    cond = _article_conditions(conn, f)
    if before is not None:
        at, aid = before
        cond.append(or_(articles.c.published_at < at,
                        and_(articles.c.published_at == at, articles.c.id < aid)))
    if cond:
        q = q.where(and_(*cond))
    q = q.order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(limit + 1)
    rows = [dict(r._mapping) for r in conn.execute(q)]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1]["published_at"], rows[-1]["id"]) if more and rows else None
    return ArticlePage(rows=rows, next_cursor=cursor)


def filter_options(conn: Connection) -> dict[str, list[Any]]:
    """Choices for the filters: topics seen, feeds (id, name)."""
    # DISTINCT on the (topic, published_at) index is a skip over the index, not a table scan.
    topics = [t for t in conn.execute(
        select(articles.c.topic).where(articles.c.topic.is_not(None)).distinct()
        .order_by(articles.c.topic)).scalars()]
    feed_rows = [(r.id, r.name) for r in conn.execute(
        select(feeds.c.id, feeds.c.name).order_by(feeds.c.name))]
    return {"topics": topics, "feeds": feed_rows}


def key_figures(conn: Connection, *, start: datetime, end: datetime,
                baseline_days: float) -> dict[str, Any]:
    """Articles in [start, end), their negative share, and the share over the baseline before.

    Shares count articles labelled negative among scored articles, which is
    monitor.store.stats' negative_share (a test holds the two equal); counted here from the
    (sentiment, published_at) index alone, because the stats query also sums probabilities
    and so reads every row. The baseline is the `baseline_days` before start.
    """
    base_start = start - timedelta(days=baseline_days)
    now_counts = _sentiment_counts(conn, start, end)
    base_counts = _sentiment_counts(conn, base_start, start)
    total = sum(now_counts.values())
    scored = total - now_counts.get(None, 0)
    base_scored = sum(base_counts.values()) - base_counts.get(None, 0)
    return {
        "articles": total,
        "scored": scored,
        "unscored": now_counts.get(None, 0),
        "negative": now_counts.get("negative", 0),
        "negative_share": (now_counts.get("negative", 0) / scored) if scored else None,
        "baseline_negative_share": (base_counts.get("negative", 0) / base_scored
                                    if base_scored else None),
        "baseline_scored": base_scored,
    }


def _sentiment_counts(conn: Connection, start: datetime, end: datetime) -> dict[str | None, int]:
    q = (select(articles.c.sentiment, func.count())
         .where(articles.c.published_at >= start, articles.c.published_at < end)
         .group_by(articles.c.sentiment))
    return {s: int(n) for s, n in conn.execute(q)}


def has_articles(conn: Connection) -> bool:
    """Whether any article is stored (an index probe, unlike count(*) over a million rows)."""
    return conn.execute(select(articles.c.id).limit(1)).first() is not None


def feed_failure_counts(conn: Connection) -> tuple[int, int]:
    """(enabled feeds, enabled feeds whose last poll failed): the offline check, feeds only."""
    row = conn.execute(select(func.count(), func.count().filter(feeds.c.error_count > 0))
                       .where(feeds.c.enabled.is_(True))).one()
    return int(row[0]), int(row[1] or 0)


def feed_health(conn: Connection, *, now: datetime, days: float = 7.0) -> list[dict[str, Any]]:
    """Every feed with its polling state, articles/day over the last `days`, latest article."""
    since = now - timedelta(days=days)
    recent: dict[int, int] = dict(conn.execute(
        select(articles.c.feed_id, func.count())
        .where(articles.c.published_at >= since).group_by(articles.c.feed_id)).all())
    latest: dict[int, Any] = dict(conn.execute(
        select(articles.c.feed_id, func.max(articles.c.published_at))
        .group_by(articles.c.feed_id)).all())
    out = []
    for r in conn.execute(select(feeds).order_by(feeds.c.name)):
        n = int(recent.get(r.id, 0))
        last = latest.get(r.id)
        out.append({
            "id": r.id, "name": r.name, "url": r.url, "enabled": bool(r.enabled),
            "poll_minutes": r.poll_minutes, "last_success_at": r.last_success_at,
            "last_checked_at": r.last_checked_at, "last_error": r.last_error,
            "error_count": int(r.error_count or 0), "next_check_at": r.next_check_at,
            "disabled_reason": r.disabled_reason, "last_status": r.last_status,
            "articles_per_day": round(n / days, 2),
            # max() over a UTCDateTime column comes back as a plain string on SQLite.
            "latest_article_at": _as_datetime(last),
        })
    return out


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def list_alert_rows(conn: Connection, *, states: Sequence[str] = ("firing", "resolved"),
                    limit: int = 200) -> list[dict[str, Any]]:
    """Alerts in the given states, firing first then newest, with their evidence."""
    firing_first = (alerts.c.state != "firing")
    q = (select(alerts).where(alerts.c.state.in_(list(states)))
         .order_by(firing_first, alerts.c.started_at.desc(), alerts.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in conn.execute(q)]


LABEL_QUEUE_COLUMNS = ("id", "published_at", "feed", "title", "summary", "link", "sentiment",
                       "sentiment_confidence", "topic", "topic_confidence")


def label_queue(conn: Connection, *, task: str, since: datetime,
                limit: int = 20) -> list[dict[str, Any]]:
    """Articles since `since` not yet labelled for task, least confident prediction first.

    The model's least certain articles are the ones a human label teaches it most about.
    """
    conf = articles.c.topic_confidence if task == "topic" else articles.c.sentiment_confidence
    labelled = (select(labels.c.id).where(labels.c.article_id == articles.c.id,
                                          labels.c.task == task).exists())
    q = (select(articles.c.id, articles.c.published_at, feeds.c.name.label("feed"),
                articles.c.title, articles.c.summary, articles.c.link, articles.c.sentiment,
                articles.c.sentiment_confidence, articles.c.topic, articles.c.topic_confidence)
         .join(feeds, feeds.c.id == articles.c.feed_id)
         .where(articles.c.published_at >= since, ~labelled)
         .order_by(conf.is_(None), conf, articles.c.published_at.desc(), articles.c.id)
         .limit(limit))
    return [dict(r._mapping) for r in conn.execute(q)]
