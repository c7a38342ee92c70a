"""Helpers for the ingestion tests: feed builders, and the poll tests' store setup and
read-back (the HTTP server they poll is feed_server's)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.ingest.parse import parse_feed
from monitor.store.articles import count_articles, insert_entries
from monitor.store.feeds import find_feed, sync_config_feeds
from monitor.types import FeedState, PollOutcome
from tests.conftest import NOW, make_config


def rss(*items: dict[str, str], title: str = "Test feed", raw_items: str = "",
        encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document; each item dict maps element name -> text (escaped)."""
    parts = []
    for item in items:
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items())
        parts.append(f"<item>{inner}</item>")
    doc = (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
           f"<title>{escape(title)}</title><link>http://example.com/</link>"
           f"{''.join(parts)}{raw_items}</channel></rss>\n")
    return doc.encode(encoding)


def item(n: int, **extra: str) -> dict[str, str]:
    """A complete RSS item numbered n (guid, title, link, description, pubDate)."""
    base = {"title": f"Headline number {n}", "link": f"http://example.com/a/{n}",
            "guid": f"urn:test:{n}", "description": f"Summary of story {n}.",
            "pubDate": f"Mon, 02 Nov 2026 {n % 12:02d}:00:00 GMT"}
    base.update(extra)
    return base


# --- the poll tests: feeds synced into a real store, and their state read back ---

FAST = {"connect_timeout": 0.5, "read_timeout": 0.5, "allow_private_addresses": True,
        "backoff_base_seconds": 60.0, "backoff_max_seconds": 3600.0, "jitter": 0.0,
        "max_body_bytes": 4096}
HEALTHY_DOC = rss(item(1), item(2), title="Healthy")
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Markets | Example</title></head>"
             b"<body><h1>Markets</h1><p>Read our latest news.</p></body></html>")


def setup(engine: Engine, tmp_path: Path, feeds: dict[str, str], **fetch: Any) -> Config:
    """A config with these feeds (name -> URL), synced into the store at NOW."""
    specs = [{"name": n, "url": u, "poll_minutes": 15} for n, u in feeds.items()]
    config = make_config(tmp_path, fetch={**FAST, **fetch}, feeds=specs)
    with engine.begin() as conn:
        sync_config_feeds(conn, [f.spec() for f in config.feeds], NOW)
    return config


def state(engine: Engine, name: str) -> FeedState:
    with engine.connect() as conn:
        feed = find_feed(conn, name)
    assert feed is not None
    return feed


def stored(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return count_articles(conn, state(engine, name).id)


def by_name(outcomes: list[PollOutcome]) -> dict[str, PollOutcome]:
    return {o.feed_name: o for o in outcomes}


def preload(engine: Engine, name: str) -> None:
    """Articles already stored for a feed before its fault: they must survive it."""
    entries = parse_feed(rss(item(901), item(902)), url="http://example.com/", headers={},
                         fetched_at=NOW - timedelta(hours=1),
                         future_tolerance=timedelta(minutes=10)).entries
    with engine.begin() as conn:
        insert_entries(conn, state(engine, name).id, entries, NOW - timedelta(hours=1))
