"""What the scoring benchmark scores: held-out texts, and a sentiment and a topic version.

Texts come from ../shared/data (held-out tweets, else FPB sentences, else generated
headlines). The versions are built on the packaged base with heads fitted on labelled tweets
(or random heads without them), or taken from an install's registry (--config).
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.config_sections import DEFAULT_TOPICS
from monitor.text import model_input
from monitor.types import SENTIMENT_LABELS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SENT_CSV = DATA / "twitter-financial-news-sentiment" / "sent_train.csv"
TOPIC_CSV = DATA / "twitter-financial-news-topic" / "topic_train.csv"
FPB_TSV = DATA / "fpb" / "fpb_50agree_dev.tsv"
TWITTER_SENTIMENT = {"0": "negative", "1": "positive", "2": "neutral"}  # Bearish/Bullish/Neutral


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def load_texts(n: int, fit_rows: int) -> tuple[list[str], dict[str, list[tuple[str, str]]], str]:
    """(texts to score, labelled rows per task for fitting heads, where the texts came from)."""
    rng = random.Random(7)
    if SENT_CSV.is_file() and TOPIC_CSV.is_file():
        sent, topic = _rows(SENT_CSV), _rows(TOPIC_CSV)
        rng.shuffle(sent)
        rng.shuffle(topic)
        labels = {"sentiment": [(t, TWITTER_SENTIMENT[y]) for t, y in sent[:fit_rows]],
                  "topic": [(t, DEFAULT_TOPICS[int(y)]) for t, y in topic[:fit_rows]]}
        held_out = [t for t, _ in sent[fit_rows:]] + [t for t, _ in topic[fit_rows:]]
        rng.shuffle(held_out)
        return [model_input(t) for t in held_out[:n]], labels, str(SENT_CSV.parent.parent)
    if FPB_TSV.is_file():
        lines = FPB_TSV.read_text(encoding="utf-8", errors="replace").splitlines()[1:]
        texts = [ln.split("\t")[0] for ln in lines if ln.strip()]
        rng.shuffle(texts)
        return [model_input(t) for t in texts[:n]], {}, str(FPB_TSV)
    words = ("shares rose fell after earnings beat miss guidance fed rates oil gold bank ipo "
             "merger dividend analyst upgrade downgrade dollar yields market stocks").split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 30))).capitalize()
             for _ in range(n)]
    return texts, {}, "generated headlines"


def _pooled(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            enc = tokenizer(list(texts[i:i + 64]), padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            out.append(model.bert(**enc).pooler_output)
    return torch.cat(out).numpy()


def fit_head(model: Any, tokenizer: Any, rows: list[tuple[str, str]], labels: Sequence[str],
             max_length: int) -> str:
    """Fit the classification head on frozen pooled features (stands in for training)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    texts = [model_input(t) for t, _ in rows]
    y = [labels.index(lab) for _, lab in rows]
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(_pooled(model, tokenizer, texts,
                                                                 max_length), y)
    weight = torch.zeros_like(model.classifier.weight)
    bias = torch.zeros_like(model.classifier.bias)
    weight[clf.classes_] = torch.tensor(clf.coef_, dtype=weight.dtype)
    bias[clf.classes_] = torch.tensor(clf.intercept_, dtype=bias.dtype)
    bias[[i for i in range(len(labels)) if i not in set(clf.classes_)]] = -20.0
    with torch.no_grad():
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(bias)
    return f"head fitted on {len(rows)} labelled rows"


def build_versions(registry: Path, fit: dict[str, list[tuple[str, str]]],
                   max_length: int, base_model: str = "packaged") -> tuple[list[Path], str]:
    from monitor.scoring.artifact import save_version
    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model

    base = resolve_base_model(base_model)  # "packaged": verifies the weights' sha256
    folders, notes = [], []
    for task, labels in (("sentiment", SENTIMENT_LABELS), ("topic", DEFAULT_TOPICS)):
        model, tokenizer = load_base_for_classification(base, tuple(labels))
        model.eval()
        note = (fit_head(model, tokenizer, fit[task], labels, max_length) if task in fit
                else "random head")
        notes.append(f"{task}: {note}")
        card = {"task": task, "base_model": {"name": base.name, "sha256": base.sha256}}
        lexical = _lexical(fit[task], labels) if task in fit else None
        folders.append(save_version(model, tokenizer, card, registry / task / f"bench-{task}",
                                    lexical=lexical))
    checked = " verified" if base.source == "packaged" else ""
    return folders, f"base {base.name} sha256 {base.sha256}{checked}; " + "; ".join(notes)


def _lexical(rows: list[tuple[str, str]], labels: Sequence[str]) -> Any:
    """A lexical model (training.lexical) on the head's rows, for timing the blend; its
    weight is chosen against a know-nothing encoder, which changes its value, not its cost."""
    import numpy as np

    from training.data import Example
    from training.lexical import fit_lexical

    ex = [Example(model_input(t), y, "fit", i) for i, (t, y) in enumerate(rows)]
    cut = len(ex) * 4 // 5
    return fit_lexical(ex[:cut], ex[cut:], labels,
                       np.full((len(ex) - cut, len(labels)), 1 / len(labels))).model


def active_versions(config_path: str) -> tuple[list[Path], str]:
    from monitor.config import load_config
    from monitor.scoring import registry
    from monitor.store.engine import open_store

    config = load_config(config_path)
    engine = open_store(config.database_url)
    found = [registry.active_info(engine, t) for t in ("sentiment", "topic")]
    missing = [t for t, a in zip(("sentiment", "topic"), found, strict=True) if a is None]
    if missing:
        sys.exit(f"no active version for {', '.join(missing)} in {config_path}")
    return [a.path for a in found if a is not None], "active versions " + ", ".join(
        a.version for a in found if a is not None)
