"""Self-training: a trained model labels unlabelled texts; confident labels become training rows.

Labelled financial text is scarce, unlabelled text is not (every stored article, any file of
headlines). A first model (the teacher) is trained on the labelled data, predicts the
unlabelled texts, and the predictions it is at least `min_confidence` sure of are added to the
labelled training rows to train a second model (the student) from the base. Validation rows
never come from pseudo-labels, so teacher and student are compared on the same labelled
validation split, and the better one is saved. Measured on Twitter financial news sentiment
with the topic set's tweets as unlabelled text: see the README.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import DataError
from monitor.scoring.base_model import load_base_for_classification
from monitor.text import model_input
from training.data import DataSource, Example, LabelledData
from training.device import pick_device
from training.lexical import attach_lexical
from training.readers import read_rows
from training.train import (
    TrainOutcome,
    TrainParams,
    build_card,
    checked_split,
    fit,
    save_and_register,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.config import Config

log = logging.getLogger(__name__)
PSEUDO_SOURCE = "pseudo-label"
DB_TEXTS = "database:articles"
DB_TEXT_LIMIT = 50_000  # newest stored articles offered for pseudo-labelling
CHUNK = 2048  # texts per progress step while pseudo-labelling


@dataclass(frozen=True)
class UnlabelledData:
    """Texts without labels, normalised as training texts are, and where they came from."""

    texts: tuple[str, ...]
    sources: tuple[DataSource, ...]


@dataclass(frozen=True)
class PseudoLabels:
    """The confident pseudo-labelled rows, and how many texts were offered."""

    examples: tuple[Example, ...]
    offered: int
    min_confidence: float

    def counts(self, labels: Sequence[str]) -> dict[str, int]:
        c = Counter(e.label for e in self.examples)
        return {label: c.get(label, 0) for label in labels}


def load_unlabelled(paths: Sequence[Path], *, text_column: str | None = None,
                    engine: Engine | None = None) -> UnlabelledData:
    """Texts of CSV / TSV / JSONL / FPB files (labels, if any, unused) and, with engine, of
    the newest stored articles (headline and summary, as the scorer reads them)."""
    from monitor.scoring.base_model import sha256_file

    texts: list[str] = []
    sources: list[DataSource] = []
    for path in paths:
        rows = read_rows(Path(path), "sentiment", text_column=text_column, labelled=False)
        if not rows:
            raise DataError(f"{path} has no rows; --unlabelled needs a file of texts")
        texts += [model_input(r.text) for r in rows]
        sources.append(DataSource(str(path), sha256_file(Path(path)), len(rows)))
    if engine is not None:
        from monitor.store.articles import list_articles

        with engine.connect() as conn:
            stored = list_articles(conn, limit=DB_TEXT_LIMIT)
        if not stored:
            raise DataError("--unlabelled-from-db: the database has no articles yet; run "
                            "the monitor (or `finsentinel fetch`) first")
        texts += [model_input(a.title, a.summary) for a in stored]
        sources.append(DataSource(DB_TEXTS, None, len(stored)))
    return UnlabelledData(tuple(t for t in texts if t), tuple(sources))


def check_confidence(min_confidence: float) -> None:
    if not 0 < min_confidence <= 1:
        raise DataError(f"--min-confidence must be in (0, 1], got {min_confidence}")


def candidate_texts(texts: Iterable[str], exclude: Iterable[str]) -> list[str]:
    """Distinct non-empty texts not in exclude (the labelled texts, validation included)."""
    skip = set(exclude)
    out: list[str] = []
    for text in texts:
        if text and text not in skip:
            skip.add(text)
            out.append(text)
    return out


def pseudo_label(model: Any, tokenizer: Any, texts: Sequence[str], labels: Sequence[str], *,
                 min_confidence: float, max_length: int, device: Any = None,
                 progress: bool = False) -> PseudoLabels:
    """The texts the model labels with probability >= min_confidence, as Examples."""
    from tqdm.auto import tqdm

    from training.evaluate import predict_proba

    check_confidence(min_confidence)
    kept: list[Example] = []
    bar = tqdm(total=len(texts), desc="pseudo-labelling", unit="text", disable=not progress)
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start:start + CHUNK]
        probs = predict_proba(model, tokenizer, chunk, max_length=max_length, device=device)
        for i, (text, p) in enumerate(zip(chunk, probs, strict=True), start=start + 1):
            k = int(p.argmax())
            if float(p[k]) >= min_confidence:
                kept.append(Example(text, labels[k], PSEUDO_SOURCE, i))
        bar.update(len(chunk))
    bar.close()
    return PseudoLabels(tuple(kept), len(texts), min_confidence)


def train_self_trained(config: Config, engine: Engine, data: LabelledData,
                       unlabelled: UnlabelledData, params: TrainParams, *,
                       min_confidence: float, now: datetime, base_model: str | None = None,
                       progress: bool = True) -> TrainOutcome:
    """Teacher on the labelled data -> pseudo-labels -> student on both; save the better one
    by validation macro-F1 (the card records both and what was added)."""
    from monitor.scoring import registry
    from training.evaluate import headline_metrics

    check_confidence(min_confidence)
    base, train, val = checked_split(config, data, params, base_model)
    device = pick_device(config.model.device)
    log.info("self-training %s: teacher on %d examples", data.task, len(train))
    model, tokenizer = load_base_for_classification(base, data.labels, seed=params.seed)
    teacher = fit(model, tokenizer, train, val, data.labels, params, device=device,
                  progress=progress)
    texts = candidate_texts(unlabelled.texts, (e.text for e in data.examples))
    found = pseudo_label(teacher.model.to(device), tokenizer, texts, data.labels,
                         min_confidence=min_confidence, max_length=params.max_length,
                         progress=progress)
    teacher.model.to("cpu")
    log.info("pseudo-labels: %d of %d texts at >= %.2f: %s", len(found.examples), found.offered,
             min_confidence, found.counts(data.labels))
    chosen, n_train, kept = teacher, len(train), "teacher"
    student = None
    if found.examples:
        model, _ = load_base_for_classification(base, data.labels, seed=params.seed)
        student = fit(model, tokenizer, [*train, *found.examples], val, data.labels, params,
                      device=device, progress=progress)
        if student.metrics["macro_f1"] > teacher.metrics["macro_f1"]:
            chosen, n_train, kept = student, len(train) + len(found.examples), "student"
    card = build_card(data, base, params, chosen, n_train, len(val), now)
    card["self_training"] = {
        "unlabelled": [asdict(s) for s in unlabelled.sources],
        "offered": found.offered, "pseudo_labelled": len(found.examples),
        "min_confidence": min_confidence, "per_class": found.counts(data.labels),
        "kept": kept,
        "teacher_validation": headline_metrics(teacher.metrics),
        "student_validation": headline_metrics(student.metrics) if student else None,
    }
    # The lexical model learns from the labelled rows only, not the pseudo-labels.
    card, lexical = attach_lexical(card, chosen.model, tokenizer, train, val, data.labels,
                                   max_length=params.max_length, enabled=params.lexical)
    return save_and_register(config, engine, chosen.model, tokenizer, card,
                             registry.new_version_id(data.task, now), now=now, lexical=lexical)

