"""Fine-tune a base encoder on labelled examples; save and register the result as a version."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import __version__
from monitor.errors import DataError
from monitor.scoring.base_model import (
    BaseModelSpec,
    hub_weights_hash,
    load_base_for_classification,
    resolve_base_model,
)
from training.data import Example, LabelledData, check_class_counts, stratified_split
from training.device import check_threads, pick_device, training_device
from training.evaluate import card_metrics, evaluate_examples
from training.lexical import attach_lexical
from training.loop import Head, Loop, make_loop, train_epoch
from training.optim import length_grouped_batches

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.config import Config
    from monitor.scoring.lexical import LexicalModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters. The defaults suit the 22M-parameter MiniLM base on a CPU."""

    epochs: int = 8
    lr: float = 1e-4  # small encoders want a higher rate than BERT-base's 2e-5
    batch_size: int | None = None  # None: 32 on CPU, 64 on a GPU
    max_length: int = 64
    seed: int = 13
    eval_fraction: float = 0.15
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    schedule: str = "linear"  # "linear" or "cosine" decay after warm-up
    patience: int = 2  # epochs without a better validation macro-F1 before stopping
    class_weights: bool = True  # inverse-frequency weights in the loss against imbalance
    # Spreads this much of each target's probability over the other classes: a guard
    # against over-confidence on labels annotators disagreed on (FPB 50 %-agreement rows).
    label_smoothing: float = 0.0
    min_per_class: int = 4
    threads: int | None = None  # CPU threads; None = torch's default (OMP_NUM_THREADS)
    # The 30k x 384 word-embedding matrix is half the model: freezing it halves the optimiser
    # work on a CPU and keeps rare-word vectors from drifting on small data.
    freeze_embeddings: bool = True
    freeze_layers: int = 0  # also freeze this many bottom encoder layers (faster on a CPU)
    layer_decay: float = 1.0  # < 1: lower encoder layers learn at geometrically smaller rates
    # R-Drop: > 0 runs each batch twice (two dropout masks) and adds this weight times the
    # symmetric KL divergence between the two predictions to the loss (2x training compute).
    rdrop: float = 0.0
    # Validate and keep an exponential moving average of the weights over about this many
    # epochs instead of the weights themselves, which swing between epochs (0 = off). Measured
    # on Financial PhraseBank over three seeds: +1.4 accuracy, +2.1 macro-F1.
    ema_epochs: float = 1.0
    # Fit a TF-IDF linear model on the same rows and blend it in where validation says it
    # helps (training/lexical.py); measured +0.2 to +1.9 macro-F1 on Twitter financial news.
    lexical: bool = True


@dataclass(frozen=True)
class FitResult:
    """The best model of a fine-tuning run and how it got there."""

    model: Any
    metrics: dict[str, Any]  # on the validation examples, at the best epoch (first head)
    history: tuple[dict[str, float], ...]
    best_epoch: int
    seconds: float
    device: str
    batch_size: int
    task_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # per head's task


@dataclass(frozen=True)
class TrainOutcome:
    """A trained, saved and registered version."""

    version: str
    folder: Path
    metrics: dict[str, Any]
    card: dict[str, Any] = field(repr=False)
    active: bool = False


def fit(model: Any, tokenizer: Any, train: Sequence[Example], val: Sequence[Example],
        labels: Sequence[str], params: TrainParams, *, device: Any = None,
        progress: bool = True) -> FitResult:
    """Fine-tune model in place on one task; keep the epoch with the best validation macro-F1."""
    head = Head("task", tuple(labels))
    ids = {label: i for i, label in enumerate(labels)}
    return fit_heads(model, tokenizer, [e.text for e in train],
                     [[ids[e.label] for e in train]], [(head, val)], params, device=device,
                     progress=progress)


def fit_heads(model: Any, tokenizer: Any, texts: Sequence[str],
              targets: Sequence[Sequence[int]], heads: Sequence[tuple[Head, Sequence[Example]]],
              params: TrainParams, *, device: Any = None, progress: bool = True,
              select: Sequence[str] | None = None) -> FitResult:
    """Fine-tune model in place on one or more heads (targets[h][i]: row i's label id for
    head h, or IGNORE); keep the epoch with the best mean validation macro-F1 over the
    heads whose task is in select (default: all heads)."""
    import torch
    from transformers import set_seed

    started = time.monotonic()
    set_seed(params.seed)
    device, batch_size = training_device(device, params.threads, params.batch_size,
                                         gpu_batch=64)
    loop, lengths = make_loop(model, tokenizer, texts, [h for h, _ in heads], targets, params,
                              device, batch_size)
    generator = torch.Generator().manual_seed(params.seed)
    best: tuple[float, int, dict[str, dict[str, Any]], dict[str, Any]] | None = None
    history: list[dict[str, float]] = []
    for epoch in range(1, params.epochs + 1):
        loss = train_epoch(loop, length_grouped_batches(lengths, batch_size, generator),
                           f"epoch {epoch}/{params.epochs}", progress)
        per_head = _validate(loop, heads, params, device)
        score = _selection_score(per_head, select)
        history.append(_history_row(epoch, loss, per_head))
        _report_epoch(epoch, loss, per_head, progress)
        if best is None or score > best[0]:
            best = (score, epoch, per_head, _cpu_state(loop.scored))
        elif epoch - best[1] >= params.patience:
            log.info("early stop: no better validation macro-F1 for %d epochs", params.patience)
            break
    if best is None:  # only when epochs < 1, which check_params refuses
        raise DataError("no epoch was run; --epochs must be at least 1")
    model.load_state_dict(best[3])
    model.to("cpu").eval()
    return FitResult(model, next(iter(best[2].values())), tuple(history), best[1],
                     time.monotonic() - started, device.type, batch_size, best[2])


def _validate(loop: Loop, heads: Sequence[tuple[Head, Sequence[Example]]],
              params: TrainParams, device: Any) -> dict[str, dict[str, Any]]:
    """Each head's metrics on its validation examples, scored by the model validation reads."""
    return {h.task: evaluate_examples(loop.scored, loop.tokenizer, [e.text for e in val],
                                      [e.label for e in val], h.labels,
                                      max_length=params.max_length, device=device,
                                      head=(h.offset, h.stop))
            for h, val in heads}


def _selection_score(per_head: dict[str, dict[str, Any]], select: Sequence[str] | None) -> float:
    """The mean macro-F1 over the selected heads' tasks (all when select is None)."""
    chosen = [m["macro_f1"] for task, m in per_head.items() if select is None
              or task in select]
    return sum(chosen) / len(chosen)


def _report_epoch(epoch: int, loss: float, per_head: dict[str, dict[str, Any]],
                  progress: bool) -> None:
    """Log an epoch's loss and validation figures (and print them above the progress bar)."""
    from tqdm.auto import tqdm

    line = f"epoch {epoch}: loss {loss:.4f}  validation " + "  ".join(
        (f"{task}: " if len(per_head) > 1 else "")
        + f"accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}"
        for task, m in per_head.items())
    log.info("%s", line)
    if progress:
        tqdm.write(line)


def _cpu_state(model: Any) -> dict[str, Any]:
    """A copy of model's weights on the CPU, safe from the training steps that follow."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _history_row(epoch: int, loss: float, per_head: dict[str, dict[str, Any]]) -> dict[str, float]:
    n = len(per_head)
    row = {"epoch": epoch, "train_loss": loss,
           "val_accuracy": sum(m["accuracy"] for m in per_head.values()) / n,
           "val_macro_f1": sum(m["macro_f1"] for m in per_head.values()) / n}
    if n > 1:
        for task, m in per_head.items():
            row[f"val_accuracy_{task}"] = m["accuracy"]
            row[f"val_macro_f1_{task}"] = m["macro_f1"]
    return row


def check_params(params: TrainParams) -> None:
    """Refuse hyper-parameters that cannot work, naming the option."""
    if params.epochs < 1:
        raise DataError(f"--epochs must be at least 1, got {params.epochs}")
    if params.lr <= 0:
        raise DataError(f"--lr must be positive, got {params.lr}")
    if params.batch_size is not None and params.batch_size < 1:
        raise DataError(f"--batch-size must be at least 1, got {params.batch_size}")
    if not 8 <= params.max_length <= 512:
        raise DataError(f"--max-length must be between 8 and 512, got {params.max_length}")
    if params.schedule not in ("linear", "cosine"):
        raise DataError(f"schedule must be 'linear' or 'cosine', got {params.schedule!r}")
    check_threads(params.threads)
    if params.ema_epochs < 0:
        raise DataError("--ema (the weight average's span in epochs) must be 0 (off) or "
                        f"positive, e.g. 1, got {params.ema_epochs}")
    benchmark_only = (  # settings `train` has no flag for; the accuracy benchmark sets them
        ("layer decay", "layer_decay", "in (0, 1]", 0 < params.layer_decay <= 1),
        ("label smoothing", "label_smoothing", "in [0, 1)", 0 <= params.label_smoothing < 1),
        ("R-Drop weight", "rdrop", "0 (off) or positive", params.rdrop >= 0),
        ("warm-up ratio", "warmup_ratio", "in [0, 1)", 0 <= params.warmup_ratio < 1),
        ("weight decay", "weight_decay", "0 or positive", params.weight_decay >= 0))
    for what, name, rule, ok in benchmark_only:
        if not ok:
            flag = "--" + name.replace("_", "-")
            raise DataError(f"{what} (TrainParams.{name}; the accuracy benchmark's {flag}) "
                            f"must be {rule}, got {getattr(params, name)}")


def build_card(data: LabelledData, base: BaseModelSpec, params: TrainParams, fit_result: FitResult,
               n_train: int, n_val: int, now: datetime) -> dict[str, Any]:
    """The model card: what was trained, from what, how, and how well."""
    return {
        "task": data.task,
        "labels": list(data.labels),
        "base_model": {"name": base.name, "spec": base.spec, "source": base.source,
                       "sha256": base.sha256 or hub_weights_hash(base.path)},
        "data": [asdict(s) for s in data.sources],
        "examples": {"total": len(data.examples), "train": n_train, "validation": n_val,
                     "per_class": data.counts()},
        "hyperparameters": {**asdict(params), "batch_size": fit_result.batch_size,
                            "device": fit_result.device},
        "max_length": params.max_length,
        "metrics": card_metrics(fit_result.metrics),
        "metrics_on": "validation split",
        "history": list(fit_result.history),
        "best_epoch": fit_result.best_epoch,
        "created_at": now.isoformat(),
        "project_version": __version__,
        "training_seconds": round(fit_result.seconds, 1),
    }


def checked_split(config: Config, data: LabelledData, params: TrainParams,
                  base_model: str | None) -> tuple[BaseModelSpec, list[Example], list[Example]]:
    """Refuse unusable params or data before any work; (base, train, validation)."""
    check_params(params)
    check_class_counts(data.examples, data.labels, min_per_class=params.min_per_class,
                       what=", ".join(s.path for s in data.sources))
    base = resolve_base_model(base_model or config.model.base_model, config)
    train, val = stratified_split(data.examples, params.eval_fraction, params.seed)
    return base, train, val


def train_version(config: Config, engine: Engine, data: LabelledData, params: TrainParams, *,
                  now: datetime, base_model: str | None = None,
                  progress: bool = True) -> TrainOutcome:
    """Split, fine-tune, save and register a new version of data.task; returns it."""
    from monitor.scoring import registry

    base, train, val = checked_split(config, data, params, base_model)
    log.info("training %s on %d examples, validating on %d (base %s)", data.task, len(train),
             len(val), base.name)
    model, tokenizer = load_base_for_classification(base, data.labels, seed=params.seed)
    result = fit(model, tokenizer, train, val, data.labels, params,
                 device=pick_device(config.model.device), progress=progress)
    card = build_card(data, base, params, result, len(train), len(val), now)
    card, lexical = attach_lexical(card, result.model, tokenizer, train, val, data.labels,
                                   max_length=params.max_length, enabled=params.lexical)
    return save_and_register(config, engine, result.model, tokenizer, card,
                             registry.new_version_id(data.task, now), now=now, lexical=lexical)


def save_and_register(config: Config, engine: Engine, model: Any, tokenizer: Any,
                      card: dict[str, Any], version: str, *, now: datetime,
                      lexical: LexicalModel | None = None) -> TrainOutcome:
    """Save a trained model (and its lexical model, if any) as version `version` of
    card["task"] and record it."""
    from monitor.scoring import registry
    from monitor.scoring.artifact import save_version

    task = card["task"]
    folder = save_version(model, tokenizer, {**card, "version": version},
                          registry.version_dir(config, task, version), lexical=lexical)
    registry.register_version(engine, config, folder, now=now)
    active = registry.active_version(engine, task) == version
    return TrainOutcome(version, folder, card["metrics"], card, active)
