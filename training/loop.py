"""One classifier fine-tuning loop: its heads, losses, weight average and frozen layers.

The losses are per head (class weights, label smoothing, R-Drop); the optimiser, its schedule
and the epoch pass under them are training.optim's, shared with domain adaptation.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from training.device import precision
from training.optim import run_epoch, scheduled_adamw, steps_per_epoch

if TYPE_CHECKING:
    from training.train import TrainParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Head:
    """One task's slice of the classifier outputs: logits[:, offset:offset + len(labels)].

    A single-task model has one head at offset 0; a joint model (training.joint) has one per
    task over a shared encoder.
    """

    task: str
    labels: tuple[str, ...]
    offset: int = 0

    @property
    def stop(self) -> int:
        return self.offset + len(self.labels)


IGNORE = -100  # target of a row that has no label for a head (CrossEntropyLoss ignore_index)


def _class_weights(targets: Sequence[int], n_labels: int) -> Any:
    import torch

    counts = Counter(t for t in targets if t != IGNORE)
    n = sum(counts.values())
    # "balanced" weights n / (k * n_c), as scikit-learn computes them.
    return torch.tensor([n / (n_labels * max(counts.get(i, 0), 1)) for i in range(n_labels)],
                        dtype=torch.float32)


@dataclass
class Loop:
    """What one training step needs, built once per fit."""

    model: Any
    tokenizer: Any
    enc: Any  # the tokenized training texts (unpadded)
    heads: tuple[Head, ...]
    targets: list[list[int]]  # per head, per training row: label id or IGNORE
    device: Any
    optimizer: Any
    scheduler: Any
    loss_fns: list[Any]  # per head
    autocast: Any
    scaler: Any
    rdrop: float = 0.0  # TrainParams.rdrop
    # With TrainParams.ema_epochs > 0: the exponential moving average of the weights,
    # updated after every optimiser step (torch's AveragedModel); validation and the saved
    # model use it.
    ema: Any = None

    @property
    def scored(self) -> Any:
        """The model validation reads: the weight average when there is one."""
        return self.model if self.ema is None else self.ema.module


def make_loop(model: Any, tokenizer: Any, texts: Sequence[str], heads: Sequence[Head],
              targets: Sequence[Sequence[int]], params: TrainParams, device: Any,
              batch_size: int) -> tuple[Loop, list[int]]:
    """The loop over texts; targets[h][i] is row i's label id for heads[h] (or IGNORE)."""
    import torch

    enc = tokenizer(list(texts), truncation=True, max_length=params.max_length)
    lengths = [len(ids) for ids in enc["input_ids"]]
    model.to(device).train()
    _freeze(model, params)
    steps = steps_per_epoch(lengths, batch_size)
    optimizer, scheduler = scheduled_adamw(model, steps, epochs=params.epochs,
                                           lr=params.lr, weight_decay=params.weight_decay,
                                           warmup_ratio=params.warmup_ratio,
                                           schedule=params.schedule,
                                           layer_decay=params.layer_decay)
    loss_fns = [torch.nn.CrossEntropyLoss(
        weight=_class_weights(t, len(h.labels)).to(device) if params.class_weights else None,
        ignore_index=IGNORE, label_smoothing=params.label_smoothing)
        for h, t in zip(heads, targets, strict=True)]
    autocast, scaler = precision(device)
    ema = _ema(model, ema_decay(params.ema_epochs, steps))
    return Loop(model, tokenizer, enc, tuple(heads), [list(t) for t in targets], device,
                optimizer, scheduler, loss_fns, autocast, scaler, params.rdrop, ema), lengths


def ema_decay(horizon_epochs: float, steps: int) -> float:
    """The per-step decay of a weight average that spans about horizon_epochs epochs of
    `steps` steps (1 - 1 / horizon in steps; 0, no averaging, when that is a step or less).
    A horizon in epochs rather than a fixed decay keeps small data sets from being averaged
    over their first, untrained steps and large ones over a sliver of an epoch."""
    horizon = horizon_epochs * steps
    return 0.0 if horizon <= 1 else 1.0 - 1.0 / horizon


def _ema(model: Any, decay: float) -> Any:
    """A copy of model that follows decay * itself + (1 - decay) * model per step, or None.

    Only parameters are averaged (use_buffers=False keeps the copy's buffers equal to the
    model's): BERT's buffers are position and token-type ids, integers with nothing to average.
    """
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


def _batch_loss(loop: Loop, logits: Any, idx: list[int]) -> Any:
    """Sum over heads of each head's loss on the rows of the batch it has labels for.

    With R-Drop the logits hold the batch twice (rows i and i + len(idx), two dropout
    masks): the loss is the mean of both copies' losses plus loop.rdrop times the symmetric
    KL divergence between the two copies' predictions on the labelled rows.
    """
    import torch

    copies = logits.shape[0] // len(idx)
    loss = None
    for head, targets, loss_fn in zip(loop.heads, loop.targets, loop.loss_fns, strict=True):
        y = torch.tensor([targets[i] for i in idx], device=loop.device)
        if bool((y == IGNORE).all()):
            continue  # no label for this head in the batch: a mean over nothing is NaN
        head_logits = logits[:, head.offset:head.stop].float()
        part = loss_fn(head_logits, y.repeat(copies))
        if copies == 2:
            first, second = head_logits.chunk(2)
            part = part + loop.rdrop * _symmetric_kl(first, second, y != IGNORE)
        loss = part if loss is None else loss + part
    return loss


def _symmetric_kl(a: Any, b: Any, rows: Any) -> Any:
    """Mean over the selected rows of (KL(p_a || p_b) + KL(p_b || p_a)) / 2."""
    import torch.nn.functional as F

    log_a, log_b = F.log_softmax(a[rows], dim=-1), F.log_softmax(b[rows], dim=-1)
    kl = (log_a.exp() * (log_a - log_b) + log_b.exp() * (log_b - log_a)).sum(-1)
    return kl.mean() / 2


def train_epoch(loop: Loop, batches: list[list[int]], desc: str, progress: bool) -> float:
    """One pass over the batches; returns the mean training loss."""

    def batch_loss(idx: list[int]) -> Any:
        rows = idx + idx if loop.rdrop else idx  # R-Drop: the batch twice, in one pass
        batch = loop.tokenizer.pad({"input_ids": [loop.enc["input_ids"][i] for i in rows],
                                    "attention_mask": [loop.enc["attention_mask"][i]
                                                       for i in rows]},
                                   return_tensors="pt").to(loop.device)
        with loop.autocast:
            logits = loop.model(**batch).logits
        return _batch_loss(loop, logits, idx)  # None: no label in the batch (cannot happen)

    trainable = [p for p in loop.model.parameters() if p.requires_grad]
    average = None if loop.ema is None else partial(loop.ema.update_parameters, loop.model)
    return run_epoch(batches, batch_loss, loop.optimizer, loop.scheduler, loop.scaler,
                     trainable, desc, progress, after_step=average)


def _freeze(model: Any, params: TrainParams) -> None:
    if params.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if params.freeze_layers:
        layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
        if layers is None:
            log.warning("freeze_layers ignored: %s has no encoder.layer list",
                        type(model).__name__)
            return
        for layer in layers[:params.freeze_layers]:
            layer.requires_grad_(False)
