"""The demo newswire's content as a pure function: (feed, seed, anchor, now) -> items.

Background flow: each feed publishes one item per slot of ``period_minutes`` (a fixed grid
from the Unix epoch, a seeded offset inside each slot), so the items a feed shows are a
deterministic function of (seed, now): a re-poll returns the same items plus any whose time
has come. Scripted bursts of NEGATIVE news start at ``anchor`` (the server's start time by
default) and repeat every ``burst_every_hours``: one in a topic (Energy | Oil) and one for
one company (Norwell Dynamics, NWD), spread from 20 minutes before each burst time to 10-15
minutes after it, so the first poll already sees a burst and the rest arrives while watching.
All wording comes from monitor.demo.headlines (written for FinSentinel).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.demo import headlines as h

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_SEED = 2026
SENTIMENT_WEIGHTS = {"negative": 0.25, "neutral": 0.45, "positive": 0.30}


@dataclass(frozen=True)
class DemoFeed:
    slug: str
    title: str
    description: str
    period_minutes: int
    topics: tuple[str, ...]  # drawn uniformly; repeat a topic to weight it


@dataclass(frozen=True)
class NewsItem:
    """One generated story; topic and sentiment are the script's ground truth."""

    guid: str
    title: str
    summary: str
    published_at: datetime
    topic: str
    sentiment: str
    burst: str | None = None  # "topic" | "company" for scripted burst items


FEEDS: tuple[DemoFeed, ...] = (
    DemoFeed("markets-wire", "Markets Wire", "Stocks, bonds and currencies as they move.", 25,
             ("Markets", "Markets", "Stock Movement", "Stock Movement", "Stock Commentary",
              "Currencies", "Treasuries | Corporate Debt", "General News | Opinion")),
    DemoFeed("energy-desk", "Energy Desk", "Oil, gas, metals and the politics of supply.", 45,
             ("Energy | Oil", "Energy | Oil", "Energy | Oil", "Gold | Metals | Materials",
              "Macro", "Politics")),
    DemoFeed("company-news", "Company News", "Deals, launches, boardrooms and courtrooms.", 30,
             ("Company | Product News", "M&A | Investments", "Personnel Change",
              "Legal | Regulation", "IPO", "Analyst Update", "Dividend")),
    DemoFeed("central-banks", "Central Banks", "Rates, inflation and the policy makers.", 60,
             ("Fed | Central Banks", "Fed | Central Banks", "Macro", "Currencies",
              "Treasuries | Corporate Debt", "Financials", "Politics")),
    DemoFeed("earnings-daily", "Earnings Daily", "Results, guidance and payouts.", 40,
             ("Earnings", "Earnings", "Dividend", "Analyst Update", "Stock Movement",
              "Financials")),
)
FEEDS_BY_SLUG = {f.slug: f for f in FEEDS}

# Burst scripts: (feed slug, how many items) and the topic of each company headline.
OIL_BURST_FEEDS = (("energy-desk", 9), ("markets-wire", 3))
COMPANY_BURST_FEEDS = (("company-news", 5), ("markets-wire", 2), ("earnings-daily", 1))
COMPANY_BURST_TOPICS = ("Company | Product News", "Legal | Regulation", "Analyst Update",
                        "Stock Movement", "Legal | Regulation", "Earnings", "Earnings",
                        "Treasuries | Corporate Debt")


def _slots(rng: random.Random, feed: DemoFeed, when: datetime) -> dict[str, str]:
    """Values for every template slot, drawn from rng (one draw per slot name)."""
    co, co2 = rng.sample(h.COMPANIES, 2)
    bank = rng.choice(h.BANKS)
    city = rng.choice(h.CITIES)
    return {
        "co": f"{co[0]} ({co[1]})", "co2": f"{co2[0]} ({co2[1]})",
        "bank": f"{bank[0]} ({bank[1]})", "broker": rng.choice(h.BROKERS),
        "exec": rng.choice(h.EXECUTIVES), "idx": rng.choice(h.INDICES), "oil": rng.choice(h.OILS),
        "metal": rng.choice(h.METALS), "cb": rng.choice(h.CENTRAL_BANKS),
        "ccy": rng.choice(h.CURRENCIES), "pair": rng.choice(h.PAIRS),
        "country": rng.choice(h.COUNTRIES), "newco": rng.choice(h.NEW_ISSUERS),
        "city_title": city.title(), "city": city,
        "pct": f"{rng.uniform(1.2, 14.0):.1f}", "bps": str(rng.choice((25, 50))),
        "amt": f"${rng.uniform(0.2, 9.5):.1f} billion", "cents": str(rng.randint(12, 95)),
        "rate": f"{rng.uniform(1.6, 5.9):.1f}", "year": str(when.year + rng.randint(3, 12)),
        "q": rng.choice(("first-quarter", "second-quarter", "third-quarter", "fourth-quarter")),
        "weekday": rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
    }


def _dateline(feed: DemoFeed, city: str, when: datetime) -> str:
    # Wire-style dateline; the minute makes every story's text unique, as real wires are.
    return f"{city}, {when:%b} {when.day} {when:%H:%M} GMT ({feed.title}) -"


def background_item(feed: DemoFeed, seed: int, slot: int) -> NewsItem:
    """The item published in slot number `slot` (minutes since epoch / period) of feed."""
    rng = random.Random(f"{seed}:{feed.slug}:{slot}")
    period = timedelta(minutes=feed.period_minutes)
    when = EPOCH + period * slot + timedelta(seconds=rng.randrange(int(period.total_seconds())))
    topic = rng.choice(feed.topics)
    sentiment = rng.choices(list(SENTIMENT_WEIGHTS), weights=list(SENTIMENT_WEIGHTS.values()))[0]
    template = rng.choice(h.TEMPLATES[topic][sentiment])
    values = _slots(rng, feed, when)
    summary = f"{_dateline(feed, values['city'], when)} {rng.choice(h.SUMMARIES[sentiment])}"
    return NewsItem(guid=f"{feed.slug}-{slot}", title=template.format(**values),
                    summary=summary, published_at=when, topic=topic, sentiment=sentiment)


def burst_times(anchor: datetime, now: datetime, every_hours: float) -> list[datetime]:
    """Burst centre times from anchor on (every_hours apart; 0 = only one) up to now + 1 h."""
    times, t, step = [], anchor, timedelta(hours=every_hours)
    while t <= now + timedelta(hours=1):
        times.append(t)
        if every_hours <= 0:
            break
        t += step
    return times


def burst_items(feed: DemoFeed, seed: int, centre: datetime, number: int) -> list[NewsItem]:
    """This feed's share of burst `number` (centred on `centre`): oil and company stories."""
    items: list[NewsItem] = []
    scripts = (("topic", OIL_BURST_FEEDS, h.OIL_BURST, h.OIL_BURST_SUMMARY, 20, 10),
               ("company", COMPANY_BURST_FEEDS, h.COMPANY_BURST, h.COMPANY_BURST_SUMMARY, 20, 15))
    for kind, feeds, templates, summary, before, after in scripts:
        total = sum(n for _, n in feeds)
        rng = random.Random(f"{seed}:burst:{kind}:{number}")
        order = rng.sample(range(len(templates)), k=min(total, len(templates)))
        # Unsorted on purpose: every feed gets some stories already out and some to come.
        offsets = [rng.uniform(-before * 60, after * 60) for _ in range(total)]
        start = 0
        for slug, n in feeds:
            if slug == feed.slug:
                for i in range(start, start + n):
                    idx = order[i % len(order)]
                    when = centre + timedelta(seconds=int(offsets[i]))
                    values = _slots(rng, feed, when)
                    topic = "Energy | Oil" if kind == "topic" else COMPANY_BURST_TOPICS[idx]
                    items.append(NewsItem(
                        guid=f"{feed.slug}-burst-{kind}-{number}-{i}",
                        title=templates[idx].format(**values),
                        summary=f"{_dateline(feed, values['city'], when)} {summary}",
                        published_at=when, topic=topic, sentiment="negative", burst=kind))
            start += n
    return items


def generate_items(feed: DemoFeed, *, seed: int, anchor: datetime, now: datetime,
                   history_days: float = 7.0, burst_every_hours: float = 6.0) -> list[NewsItem]:
    """Every item the feed shows at `now`: published in (now - history_days, now], newest first."""
    if now.tzinfo is None or anchor.tzinfo is None:
        raise ValueError("now and anchor must be timezone-aware")
    oldest = now - timedelta(days=history_days)
    period_s = feed.period_minutes * 60
    first = int((oldest - EPOCH).total_seconds() // period_s)
    last = int((now - EPOCH).total_seconds() // period_s)
    items = [background_item(feed, seed, k) for k in range(first, last + 1)]
    for number, centre in enumerate(burst_times(anchor, now, burst_every_hours)):
        items.extend(burst_items(feed, seed, centre, number))
    shown = [it for it in items if oldest < it.published_at <= now]
    return sorted(shown, key=lambda it: (it.published_at, it.guid), reverse=True)
