"""Helpers for scoring tests: tiny random BERT models (no downloads) and ingested articles."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.config_sections import DEFAULT_TOPICS
from monitor.store.articles import insert_entries
from monitor.store.feeds import add_feed, find_feed
from monitor.types import SENTIMENT_LABELS, Entry, FeedSpec
from tests.conftest import NOW

WORDS = ("the a of to in on for and with by shares stock stocks market markets rose fell "
         "jumps slumps profit loss earnings beat miss bank banks fed rates cut hike oil gold "
         "dollar bond bonds yields ipo merger deal ceo resigns dividend raises lowers guidance "
         "quarter revenue growth weak strong record high low investors analyst upgrade "
         "downgrade price target company inc corp says after as its").split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "$", "%", *WORDS]

LABELS = {"sentiment": SENTIMENT_LABELS, "topic": DEFAULT_TOPICS}


def tiny_model(labels: Sequence[str], seed: int, vocab_dir: Path):  # type: ignore[no-untyped-def]
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab_file = vocab_dir / "vocab.txt"
    if not vocab_file.exists():
        vocab_dir.mkdir(parents=True, exist_ok=True)
        vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as `vocab` (a vocab_file argument is ignored and
    # every word would become [UNK]).
    words = vocab_file.read_text(encoding="utf-8").split()
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                     num_labels=len(labels), id2label=dict(enumerate(labels)),
                     label2id={lab: i for i, lab in enumerate(labels)})
    model = BertForSequenceClassification(cfg).eval()
    # Random heads give near-uniform outputs; scale them up so labels differ between texts
    # and between versions (tests compare which version produced which label).
    with torch.no_grad():
        model.classifier.weight.mul_(40.0)
    return model, tokenizer


MakeVersion = Callable[..., Path]


HEADLINES = (
    "Stocks rose after the fed cut rates",
    "Oil slumps as dollar jumps",
    "Bank shares fell after earnings miss",
    "Company raises dividend",
    "CEO resigns after weak quarter and investors sell shares in record low market",
    "Gold price high",
    "Analyst upgrade: price target raised for the company after strong revenue growth",
    "IPO deal",
    "Bond yields rose",
    "Merger talks",
)


def entries(prefix: str, published: Sequence[datetime]) -> list[Entry]:
    out = []
    for i, at in enumerate(published):
        title = f"{HEADLINES[i % len(HEADLINES)]} {prefix}{i}"
        out.append(Entry(guid=f"{prefix}-{i}", link=f"https://example.test/{prefix}/{i}",
                         title=title, summary="Shares of the company rose." if i % 3 else "",
                         published_at=at,
                         content_hash=hashlib.sha256(title.encode()).hexdigest()))
    return out


def add_articles(engine: Engine, prefix: str, published: Sequence[datetime],
                 feed_name: str = "wire") -> int:
    """Ingest entries the way the poller does (insert_entries in one transaction)."""
    with engine.begin() as conn:
        feed = find_feed(conn, feed_name)
        feed_id = feed.id if feed else add_feed(
            conn, FeedSpec(feed_name, f"https://example.test/{feed_name}.xml"), NOW)
        return insert_entries(conn, feed_id, entries(prefix, published), NOW)


def hours_ago(*hours: float, now: datetime = NOW) -> list[datetime]:
    return [now - timedelta(hours=h) for h in hours]
