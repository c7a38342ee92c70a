"""Frozen value objects handed between pipeline stages (ingest -> store -> scoring -> alerts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Task(StrEnum):
    SENTIMENT = "sentiment"
    TOPIC = "topic"


SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class FeedSpec:
    """A feed as configured in config.toml (synced into the feeds table)."""

    name: str
    url: str
    poll_minutes: float = 15.0
    enabled: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedState:
    """A feed row as the poller needs it: identity plus conditional-GET and schedule state."""

    id: int
    name: str
    url: str
    enabled: bool
    poll_minutes: float
    etag: str | None
    last_modified: str | None
    next_check_at: datetime | None
    error_count: int
    last_error: str | None
    last_status: int | None
    last_success_at: datetime | None
    disabled_reason: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchResult:
    """What the fetcher got: a body to parse, or not-modified (304, body empty)."""

    url: str  # final URL after redirects
    status: int
    body: bytes
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    not_modified: bool = False
    permanent_redirect_to: str | None = None  # set when a 301/308 chain moved the feed


@dataclass(frozen=True)
class Entry:
    """One normalised feed entry, ready to be stored as an article."""

    guid: str
    link: str | None
    title: str
    summary: str
    published_at: datetime  # aware UTC
    content_hash: str


@dataclass(frozen=True)
class ParsedFeed:
    """The outcome of parsing one document: entries plus any survivable problem noticed."""

    title: str | None
    entries: tuple[Entry, ...]
    warning: str | None = None  # survivable bozo, kept for last_error-style display


@dataclass(frozen=True)
class Article:
    """A stored article."""

    id: int
    feed_id: int
    guid: str
    link: str | None
    title: str
    summary: str
    published_at: datetime
    fetched_at: datetime
    content_hash: str


@dataclass(frozen=True)
class Prediction:
    """One task's classification of one article by one model version."""

    article_id: int
    task: str
    model_version: str
    label: str
    probs: dict[str, float] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        return self.probs.get(self.label, 0.0)


@dataclass(frozen=True)
class PollOutcome:
    """Per-feed result of one poll, for the CLI summary and the log."""

    feed_id: int
    feed_name: str
    status: str  # "new" | "unchanged" | "error" | "disabled"
    new_articles: int = 0
    seen_entries: int = 0
    error: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Alert:
    """An alert as decided by detection and kept by the lifecycle."""

    rule: str
    scope_kind: str  # "all" | "topic" | "feed" | "company"
    scope_value: str
    statistic: float
    window_count: int
    window_negative: float
    expected: float
    window_start: datetime
    window_end: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
