"""Ensemble distillation: teachers (seeds) average their predictions; one student learns them.

The mean of K models fine-tuned from different seeds is more accurate than any one of them
(measured on FPB: see the README), but scoring K models costs K times one. So the ensemble
only teaches: a student is trained once from the base on soft targets, alpha x the gold label
+ (1 - alpha) x the teachers' mean probabilities for each training row, and, given unlabelled
texts, the teachers' mean probabilities for those they are at least `min_confidence` sure of.
The student scores at the cost of one model. Teachers, their ensemble and the student are all
judged on the same labelled validation split; the best single model (the student or a
teacher) is saved, and the card records every figure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.errors import DataError
from monitor.scoring.base_model import BaseModelSpec, load_base_for_classification
from training.data import Example, LabelledData
from training.evaluate import headline_metrics, metrics_report, predict_proba
from training.loop import Head
from training.pseudo import CHUNK, UnlabelledData, candidate_texts, check_confidence
from training.train import (
    FitResult,
    TrainOutcome,
    TrainParams,
    build_card,
    checked_split,
    fit,
    fit_heads,
    pick_device,
    save_and_register,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.config import Config

log = logging.getLogger(__name__)
MAX_TEACHERS = 10


@dataclass(frozen=True)
class Distilled:
    """The outcome of distil(): the model to keep, its tokenizer, and the card's summary."""

    chosen: FitResult
    tokenizer: Any
    n_train: int  # rows the chosen model trained on
    summary: dict[str, Any]
    teachers: tuple[FitResult, ...]  # all of them, for benchmarks that test each
    student: FitResult


def check_distillation(teachers: int, alpha: float) -> None:
    """Refuse settings that cannot work, naming the option."""
    if not 2 <= teachers <= MAX_TEACHERS:
        raise DataError(f"--teachers must be between 2 and {MAX_TEACHERS} to distil an "
                        f"ensemble (1 trains a single model), got {teachers}")
    if not 0 <= alpha <= 1:
        raise DataError(f"--distill-alpha must be in [0, 1], got {alpha}")


def soft_targets(gold: Sequence[int], teacher_probs: np.ndarray, alpha: float) -> np.ndarray:
    """alpha x one-hot(gold) + (1 - alpha) x teacher_probs, row by row (rows sum to 1)."""
    hard = np.zeros_like(teacher_probs, dtype=np.float32)
    hard[np.arange(len(gold)), np.asarray(gold, dtype=np.int64)] = 1.0
    return (alpha * hard + (1 - alpha) * teacher_probs).astype(np.float32)


def mean_proba(models: Sequence[Any], tokenizer: Any, texts: Sequence[str], *,
               max_length: int, device: Any = None, desc: str | None = None) -> np.ndarray:
    """The models' mean class probabilities for texts; desc shows a progress bar."""
    from tqdm.auto import tqdm

    total = np.zeros((len(texts), models[0].config.num_labels), dtype=np.float64)
    bar = tqdm(total=len(texts) * len(models), desc=desc, unit="text", disable=desc is None)
    for model in models:
        model.to(device or "cpu")
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start:start + CHUNK]
            total[start:start + len(chunk)] += predict_proba(model, tokenizer, chunk,
                                                             max_length=max_length)
            bar.update(len(chunk))
        model.to("cpu")
    bar.close()
    return (total / len(models)).astype(np.float32)


def distil(base: BaseModelSpec, train: Sequence[Example], val: Sequence[Example],
           labels: Sequence[str], params: TrainParams, *, teachers: int, alpha: float,
           unlabelled: Sequence[str] = (), min_confidence: float = 0.9, device: Any = None,
           progress: bool = True) -> Distilled:
    """Teachers (seeds params.seed, +1, ...) -> soft targets -> a student from the base.

    unlabelled: texts (already free of the labelled ones) the teachers may label softly.
    """
    check_distillation(teachers, alpha)
    check_confidence(min_confidence)
    device = device or pick_device()
    fits: list[FitResult] = []
    tokenizer: Any = None
    for k in range(teachers):
        seed = params.seed + k
        log.info("teacher %d of %d (seed %d) on %d examples", k + 1, teachers, seed, len(train))
        model, tokenizer = load_base_for_classification(base, tuple(labels), seed=seed)
        fits.append(fit(model, tokenizer, train, val, labels, replace(params, seed=seed),
                        device=device, progress=progress))
    models = [f.model for f in fits]
    show = "ensemble predictions" if progress else None
    val_probs = mean_proba(models, tokenizer, [e.text for e in val],
                           max_length=params.max_length, device=device)
    ensemble = metrics_report([e.label for e in val],
                              [labels[i] for i in val_probs.argmax(axis=1)], labels)
    ids = {label: i for i, label in enumerate(labels)}
    texts = [e.text for e in train]
    targets = soft_targets([ids[e.label] for e in train],
                           mean_proba(models, tokenizer, texts, max_length=params.max_length,
                                      device=device, desc=show), alpha)
    n_soft = 0
    if unlabelled:
        probs = mean_proba(models, tokenizer, unlabelled, max_length=params.max_length,
                           device=device, desc=show)
        sure = np.flatnonzero(probs.max(axis=1) >= min_confidence)
        texts += [unlabelled[int(i)] for i in sure]
        targets = np.concatenate([targets, probs[sure]])
        n_soft = len(sure)
        log.info("teachers are >= %.2f sure of %d of %d unlabelled texts", min_confidence,
                 n_soft, len(unlabelled))
    del models  # the teachers stay reachable through fits; the student is next
    log.info("student on %d rows (%d soft-labelled unlabelled texts)", len(texts), n_soft)
    model, _ = load_base_for_classification(base, tuple(labels), seed=params.seed)
    student = fit_heads(model, tokenizer, texts, [targets], [(Head("task", tuple(labels)), val)],
                        params, device=device, progress=progress)
    best = max(range(teachers), key=lambda k: fits[k].metrics["macro_f1"])
    # On a tie the student is kept: it learned from the whole ensemble, not one seed.
    keep_student = student.metrics["macro_f1"] >= fits[best].metrics["macro_f1"]
    summary = {
        "teachers": [{"seed": params.seed + k, "best_epoch": f.best_epoch,
                      "validation": headline_metrics(f.metrics)} for k, f in enumerate(fits)],
        "ensemble_validation": headline_metrics(ensemble),
        "student_validation": headline_metrics(student.metrics),
        "alpha": alpha, "unlabelled_offered": len(unlabelled),
        "unlabelled_soft_labelled": n_soft,
        "min_confidence": min_confidence if unlabelled else None,
        "kept": "student" if keep_student else f"teacher (seed {params.seed + best})",
    }
    if keep_student:
        return Distilled(student, tokenizer, len(texts), summary, tuple(fits), student)
    return Distilled(fits[best], tokenizer, len(train), summary, tuple(fits), student)


def train_distilled(config: Config, engine: Engine, data: LabelledData, params: TrainParams, *,
                    teachers: int, alpha: float, now: datetime,
                    unlabelled: UnlabelledData | None = None, min_confidence: float = 0.9,
                    base_model: str | None = None, progress: bool = True) -> TrainOutcome:
    """distil() on the task's split, then save and register the kept model as a version."""
    from monitor.scoring import registry

    check_distillation(teachers, alpha)
    base, train, val = checked_split(config, data, params, base_model)
    extra = candidate_texts(unlabelled.texts, (e.text for e in data.examples)) \
        if unlabelled else []
    out = distil(base, train, val, data.labels, params, teachers=teachers, alpha=alpha,
                 unlabelled=extra, min_confidence=min_confidence,
                 device=pick_device(config.model.device), progress=progress)
    card = build_card(data, base, params, out.chosen, out.n_train, len(val), now)
    card["distillation"] = {**out.summary, "unlabelled": [asdict(s) for s in unlabelled.sources]
                            if unlabelled else []}
    return save_and_register(config, engine, out.chosen.model, out.tokenizer, card,
                             registry.new_version_id(data.task, now), now=now)
