"""Write bootstrap.csv: the shipped labelled headlines, generated deterministically from templates.

    python -m training.bootstrap.generate            # rewrites training/bootstrap/bootstrap.csv
    python -m training.bootstrap.generate --check    # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
from pathlib import Path

from training.bootstrap import fillers as f
from training.bootstrap.templates import TEMPLATES
from training.bootstrap.tweets import TWEET_TEMPLATES

OUTPUT = Path(__file__).with_name("bootstrap.csv")
SEED = 20261128
PER_CELL = 28  # headline rows per (topic, sentiment)
# News-feed post rows per (topic, sentiment): neutral news is the most varied kind, so it
# gets the most rows (44 % of the set is neutral).
TWEETS_PER_CELL = {"negative": 14, "neutral": 36, "positive": 14}
# Broad topics span more kinds of story than narrow ones (IPO, Dividend), and a news stream
# carries more of them: twice the post rows, so that the model does not under-call them.
BROAD_TOPICS = {"Company | Product News": 2, "Stock Commentary": 2, "General News | Opinion": 2,
                "Macro": 2}
# In all: 16 topics x (42 + 42 + 64) + 4 broad topics x (56 + 56 + 100) = 3,216 rows.
SENTIMENTS = ("negative", "neutral", "positive")
# Light wire-style decoration so the model does not learn that headlines are always bare.
WRAPPERS = ("{t}", "{t}", "{t}", "{t}", "UPDATE 1-{t}", "{t} - sources", "BRIEF-{t}", "{t}.",
            "{t} | Markets Wrap")
TWEET_WRAPPERS = ("{t}", "{t}", "{t}", "{t}", "{t}", "{t} #stocks #investing",
                  "{t} #economy #markets", "WATCH: {t}", "{t} (via @newsdesk)", "{t}.")
_SLOT = re.compile(r"\{(\w+)\}")
# Slots whose value depends on another slot of the sentence, filled after it.
_DEPENDENT = {"co2": "co", "country2": "country", "person2": "person", "pt2": "pt",
              "tk": "co", "tk2": "co2"}


def ticker(company: str) -> str:
    """A cashtag symbol for a fictional company: "Northwind Robotics" -> "NOR"."""
    words = company.split()
    symbol = words[0][:2] + words[1][0] if len(words) > 1 else words[0][:3]
    return symbol.upper()


def _amount(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(12, 950)} million"
    return f"{rng.randint(11, 98) / 10:.1f} billion"


def _fill(slot: str, rng: random.Random, used: dict[str, str]) -> str:
    """A value for one slot; co2/country2 differ from co/country in the same sentence."""
    simple: dict[str, tuple[str, ...]] = {
        "co": f.COMPANIES, "bank": f.BANKS, "broker": f.BROKERS, "person": f.PEOPLE,
        "role": f.ROLES, "product": f.PRODUCTS, "idx": f.INDICES, "cb": f.CENTRAL_BANKS,
        "head": f.BANK_HEADS, "ccy": f.CURRENCIES, "oil": f.OILS, "metal": f.METALS,
        "country": f.COUNTRIES, "data": f.DATA, "reg": f.REGULATORS, "sector": f.SECTORS,
        "pol": f.POLITICIANS, "q": f.QUARTERS, "day": f.DAYS, "month": f.MONTHS,
    }
    if slot in simple:
        return rng.choice(simple[slot])
    if slot in ("co2", "country2", "person2"):
        pool = {"co2": f.COMPANIES, "country2": f.COUNTRIES, "person2": f.PEOPLE}[slot]
        return rng.choice([x for x in pool if x != used.get(slot[:-1])])
    if slot in ("tk", "tk2"):  # the ticker of the sentence's company, else of any company
        return ticker(used.get(_DEPENDENT[slot]) or rng.choice(f.COMPANIES))
    if slot == "pt":
        return str(rng.randint(20, 400))
    if slot == "pt2":  # the other end of a target change: 10-40% away from pt
        return str(max(5, int(int(used.get("pt") or rng.randint(20, 400))
                              * rng.uniform(0.6, 0.9))))
    numbers = {
        "pct": lambda: f"{rng.randint(3, 45)}",
        "small": lambda: f"{rng.randint(1, 9)}",
        "bps": lambda: rng.choice(("25", "50", "75")),
        "amt": lambda: _amount(rng),
        "cents": lambda: f"{rng.randint(5, 250) / 100:.2f}",
        "year": lambda: rng.choice(("2026", "2027", "2028")),
        "n": lambda: str(rng.randint(2, 30)),
        "eps": lambda: f"{rng.randint(5, 600) / 100:.2f}",
        "rev": lambda: rng.choice((f"{rng.randint(120, 990)}.{rng.randint(1, 99):02d}M",
                                   f"{rng.randint(11, 98) / 10:.1f}B")),
    }
    if slot.startswith("rate"):  # rate, rate2, rate3: independent percentages like 8.6
        return f"{rng.randint(1, 120) / 10:.1f}"
    if slot in numbers:
        return numbers[slot]()
    raise KeyError(f"template slot {{{slot}}} has no filler")


def render(template: str, rng: random.Random, wrappers: tuple[str, ...] = WRAPPERS) -> str:
    used: dict[str, str] = {}
    slots = _SLOT.findall(template)
    # Fill the base slot before its partner ("{pt2} from {pt}"): partners depend on it.
    for slot in sorted(slots, key=lambda s: s in _DEPENDENT):
        if slot not in used:
            used[slot] = _fill(slot, rng, used)
    text = _SLOT.sub(lambda m: used[m.group(1)], template)
    text = text[0].upper() + text[1:]  # "the Fed chair says ..." opens a sentence
    return rng.choice(wrappers).format(t=text)


def generate(per_cell: int = PER_CELL, seed: int = SEED) -> list[tuple[str, str, str]]:
    """(text, sentiment, topic) rows, unique texts, identical for identical arguments."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for topic, by_sentiment in TEMPLATES.items():
        for sentiment in SENTIMENTS:
            for templates, count, wrappers in (
                    (by_sentiment[sentiment], per_cell, WRAPPERS),
                    (TWEET_TEMPLATES[topic][sentiment],
                     TWEETS_PER_CELL[sentiment] * BROAD_TOPICS.get(topic, 1), TWEET_WRAPPERS)):
                made, tries = 0, 0
                while made < count and tries < count * 50:
                    text = render(templates[tries % len(templates)], rng, wrappers)
                    tries += 1
                    if text.lower() not in seen:
                        seen.add(text.lower())
                        rows.append((text, sentiment, topic))
                        made += 1
    return rows


def to_csv(rows: list[tuple[str, str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("text", "sentiment", "topic"))
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare with the committed file")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args(argv)
    content = to_csv(generate())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != content:
            print(f"{args.output} is stale: run python -m training.bootstrap.generate",
                  file=sys.stderr)
            return 1
        return 0
    args.output.write_text(content, encoding="utf-8")
    print(f"wrote {content.count(chr(10)) - 1} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
