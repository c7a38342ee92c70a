"""Alert evidence: the most confidently negative scored articles of one scope in a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from monitor.store.figures import check_window, scope_column
from monitor.store.schema import articles, feeds


@dataclass(frozen=True)
class Headline:
    """A negative article that drove a window: what an alert shows as evidence."""

    article_id: int
    title: str
    link: str | None
    published_at: datetime
    p_negative: float
    feed: str
    topic: str | None


def negative_headlines(conn: Connection, *, start: datetime, end: datetime, scope_kind: str,
                       scope_value: str, limit: int = 5) -> list[Headline]:
    """The most confidently negative scored articles of one scope in [start, end)."""
    check_window(start, end)
    q = (select(articles.c.id, articles.c.title, articles.c.link, articles.c.published_at,
                articles.c.p_negative, articles.c.sentiment_confidence, articles.c.topic,
                feeds.c.name.label("feed"))
         .join(feeds, feeds.c.id == articles.c.feed_id)
         .where(articles.c.published_at >= start, articles.c.published_at < end,
                articles.c.sentiment == "negative"))
    if scope_kind == "topic":
        q = q.where(articles.c.topic == scope_value)
    elif scope_kind == "feed":
        q = q.where(feeds.c.name == scope_value)
    else:
        scope_column(scope_kind)  # validates the kind
    q = q.order_by(func.coalesce(articles.c.p_negative, articles.c.sentiment_confidence).desc(),
                   articles.c.published_at.desc(), articles.c.id).limit(limit)
    return [Headline(article_id=int(r.id), title=r.title, link=r.link,
                     published_at=r.published_at,
                     p_negative=float(r.p_negative if r.p_negative is not None
                                      else r.sentiment_confidence or 0.0),
                     feed=r.feed, topic=r.topic)
            for r in conn.execute(q)]
