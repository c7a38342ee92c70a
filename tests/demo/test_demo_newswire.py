"""The demo newswire's generator: deterministic, covers every topic, scripted negative bursts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from monitor.config_sections import DEFAULT_TOPICS
from monitor.demo.newswire import FEEDS, FEEDS_BY_SLUG, generate_items
from monitor.demo.rss import render_rss

ANCHOR = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
SEED = 11
NEGATIVE_WORDS = re.compile(
    r"\b(crash|crashes|plunge|plunges|tumble|slump|sink|sinks|dump|losses|collapse|collapses|"
    r"sell-off|hit hard|slash|turmoil|rout|recalls|probe|downgraded|lawsuit|suspends|"
    r"crisis|drop|fire risk|failures)\b", re.IGNORECASE)


def _all(now: datetime, seed: int = SEED, **kw: float) -> dict[str, list]:
    return {f.slug: generate_items(f, seed=seed, anchor=ANCHOR, now=now, **kw) for f in FEEDS}


def test_same_seed_and_now_give_the_same_items_and_documents() -> None:
    now = ANCHOR + timedelta(minutes=7)
    assert _all(now) == _all(now)
    feed = FEEDS[0]
    items = generate_items(feed, seed=SEED, anchor=ANCHOR, now=now)
    assert render_rss(feed, items, "http://x", now) == render_rss(feed, items, "http://x", now)
    assert _all(now) != _all(now, seed=SEED + 1)


def test_a_later_poll_keeps_the_items_still_in_the_window_and_adds_new_ones() -> None:
    now, later = ANCHOR, ANCHOR + timedelta(hours=2)
    for feed in FEEDS:
        before = {i.guid: i for i in generate_items(feed, seed=SEED, anchor=ANCHOR, now=now)}
        after = {i.guid: i for i in generate_items(feed, seed=SEED, anchor=ANCHOR, now=later)}
        gone = set(before) - set(after)
        assert all(before[g].published_at <= later - timedelta(days=7) for g in gone)
        assert all(before[g] == after[g] for g in set(before) & set(after))  # unchanged content
        new = set(after) - set(before)
        assert new and all(now < after[g].published_at <= later for g in new)


def test_items_cover_every_topic_and_sentiment_with_unique_text() -> None:
    items = [i for feed_items in _all(ANCHOR).values() for i in feed_items]
    assert {i.topic for i in items} == set(DEFAULT_TOPICS)
    assert {i.sentiment for i in items} == {"negative", "neutral", "positive"}
    assert len({(i.title, i.summary) for i in items}) == len(items)  # no accidental dedup
    assert len({i.guid for i in items}) == len(items)
    assert all("{" not in i.title and "}" not in i.title for i in items)
    # A steady background over the past days, so the alerting baseline exists.
    oldest = min(i.published_at for i in items)
    assert oldest < ANCHOR - timedelta(days=6)
    assert all(i.published_at <= ANCHOR for i in items)


def test_topic_burst_is_a_cluster_of_negative_oil_headlines_in_the_last_half_hour() -> None:
    now = ANCHOR + timedelta(minutes=10)
    items = [i for feed_items in _all(now).values() for i in feed_items]
    window = [i for i in items if i.published_at > now - timedelta(minutes=30)]
    burst = [i for i in window if i.burst == "topic"]
    assert len(burst) >= 8
    assert all(i.topic == "Energy | Oil" and i.sentiment == "negative" for i in burst)
    assert all(NEGATIVE_WORDS.search(i.title) for i in burst), [i.title for i in burst]
    assert all(NEGATIVE_WORDS.search(i.summary) for i in burst)
    # Far above the topic's background rate: at most a couple of oil stories per half hour.
    background_oil = [i for i in items if i.topic == "Energy | Oil" and not i.burst
                      and now - timedelta(days=1) < i.published_at <= now]
    assert len(burst) > 4 * (len(background_oil) / 48 + 1)


def test_company_burst_is_negative_news_about_norwell_dynamics() -> None:
    now = ANCHOR + timedelta(minutes=16)
    items = [i for feed_items in _all(now).values() for i in feed_items]
    burst = [i for i in items if i.burst == "company"]
    assert len(burst) == 8
    assert all("Norwell Dynamics (NWD)" in i.title for i in burst)
    assert all(i.sentiment == "negative" and NEGATIVE_WORDS.search(i.title) for i in burst)
    assert {i.published_at > now - timedelta(minutes=40) for i in burst} == {True}
    feeds_with_burst = {slug for slug, its in _all(now).items() if any(i.burst for i in its)}
    assert {"energy-desk", "company-news", "markets-wire"} <= feeds_with_burst


def test_bursts_start_at_the_anchor_and_repeat() -> None:
    quiet = _all(ANCHOR - timedelta(minutes=25))
    assert not any(i.burst for its in quiet.values() for i in its)
    # First poll at the anchor already sees part of the burst; the rest arrives later.
    at_anchor = sum(1 for its in _all(ANCHOR).values() for i in its if i.burst)
    complete = sum(1 for its in _all(ANCHOR + timedelta(minutes=16)).values()
                   for i in its if i.burst)
    assert 0 < at_anchor < complete == 20
    again = _all(ANCHOR + timedelta(hours=6, minutes=16), burst_every_hours=6)
    assert sum(1 for its in again.values() for i in its if i.burst) == 40
    once = _all(ANCHOR + timedelta(hours=6, minutes=16), burst_every_hours=0)
    assert sum(1 for its in once.values() for i in its if i.burst) == 20


def test_rss_document_parses_with_every_item() -> None:
    feed = FEEDS_BY_SLUG["energy-desk"]
    now = ANCHOR + timedelta(minutes=5)
    items = generate_items(feed, seed=SEED, anchor=ANCHOR, now=now)
    doc = feedparser.parse(render_rss(feed, items, "http://127.0.0.1:1", items[0].published_at))
    assert not doc.bozo
    assert [e.id for e in doc.entries] == [i.guid for i in items]
    assert [e.title for e in doc.entries] == [i.title for i in items]
    first = doc.entries[0]
    assert datetime(*first.published_parsed[:6], tzinfo=UTC) == items[0].published_at
    assert first.link == f"http://127.0.0.1:1/news/{items[0].guid}"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_items(FEEDS[0], seed=1, anchor=ANCHOR, now=datetime(2026, 1, 1))
