"""Render demo newswire items as an RSS 2.0 document (pure: same items -> same bytes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from monitor.demo.newswire import DemoFeed, NewsItem


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def render_rss(feed: DemoFeed, items: Sequence[NewsItem], base_url: str,
               built_at: datetime) -> bytes:
    """The feed document; built_at (lastBuildDate) should be the newest item's time."""
    base = base_url.rstrip("/")
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{escape(feed.title)} (FinSentinel demo)</title>",
        f"<link>{escape(base)}/</link>",
        f'<atom:link href="{escape(base)}/feeds/{feed.slug}.xml" rel="self" '
        'type="application/rss+xml"/>',
        f"<description>{escape(feed.description)} Fictional stories generated offline by "
        "FinSentinel's demo newswire.</description>",
        "<language>en</language>",
        f"<lastBuildDate>{http_date(built_at)}</lastBuildDate>",
    ]
    for it in items:
        parts += [
            "<item>",
            f"<title>{escape(it.title)}</title>",
            f"<link>{escape(base)}/news/{escape(it.guid)}</link>",
            f'<guid isPermaLink="false">{escape(it.guid)}</guid>',
            f"<pubDate>{http_date(it.published_at)}</pubDate>",
            f"<category>{escape(it.topic)}</category>",
            f"<description>{escape(it.summary)}</description>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts).encode("utf-8")
