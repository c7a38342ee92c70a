"""Helpers for scoring tests: tiny random BERT models (no downloads), ingested articles, and the
shared-encoder tests' texts, config and comparisons."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.config_sections import DEFAULT_TOPICS
from monitor.scoring.artifact import load_version
from monitor.scoring.shared import SharedEncoderPair, make_shared_pair
from monitor.store.articles import insert_entries
from monitor.store.feeds import add_feed, find_feed
from monitor.types import SENTIMENT_LABELS, Entry, FeedSpec
from tests.conftest import NOW, make_config

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


# --- the shared-encoder tests ---

TEXTS = [*HEADLINES, "", "gold", HEADLINES[4] * 3]


def cpu_config(tmp_path: Path, registry_dir: Path, **model: object) -> Config:
    """The scoring tests' CPU config (fp32, batches of 4) with these [model] settings on top."""
    return make_config(tmp_path, model={"registry_dir": str(registry_dir), "device": "cpu",
                                        "cpu_int8": False, "batch_size": 4,
                                        "rescore_window_hours": 24, **model})


def shared_pair(folders: tuple[Path, Path], config: Config) -> SharedEncoderPair:
    """The shared pair over two saved versions; fails the test when they do not share."""
    pair = make_shared_pair([load_version(f) for f in folders], config)
    assert pair is not None
    return pair


def max_diff(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    """The largest probability difference; the label orders must match first."""
    assert [list(x) for x in a] == [list(y) for y in b]
    return max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x)
