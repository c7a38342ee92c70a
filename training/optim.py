"""The optimisation every training loop here shares: batches, AdamW, its schedule, epochs.

Batches are length-grouped; AdamW's learning rates decay layer-wise and follow a warm-up
then decay schedule; one epoch is one optimiser pass over the batches. Fine-tuning
(training.loop) and domain adaptation (training.adapt) both run on this; they differ only
in how a batch becomes a loss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)


def steps_per_epoch(lengths: Sequence[int], batch_size: int) -> int:
    """Optimiser steps in one epoch (pools may end in a short batch, so count, not divide)."""
    import torch

    return len(length_grouped_batches(lengths, batch_size, torch.Generator()))


def length_grouped_batches(lengths: Sequence[int], batch_size: int,
                           generator: Any, group: int = 50) -> list[list[int]]:
    """Shuffled batches of indices whose texts have similar lengths (less padding).

    Indices are shuffled, cut into pools of `group` batches, each pool sorted by length and
    cut into batches; the batch order is shuffled again, so every epoch still sees the data
    in a new random order (transformers' group_by_length does the same).
    """
    import torch

    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * group
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def run_epoch(batches: Sequence[list[int]], batch_loss: Callable[[list[int]], Any],
              optimizer: Any, scheduler: Any, scaler: Any, trainable: Sequence[Any], desc: str,
              progress: bool, after_step: Callable[[], None] | None = None) -> float:
    """One optimiser pass with a progress bar: batch_loss(indices) gives a batch's loss, or
    None to skip the batch; after_step runs after each step; returns the mean loss of the
    batches stepped on. Fine-tuning and domain adaptation differ only in how a batch becomes
    a loss."""
    from tqdm.auto import tqdm

    bar = tqdm(batches, desc=desc, unit="batch", disable=not progress, leave=False)
    total, counted = 0.0, 0
    for idx in bar:
        loss = batch_loss(idx)
        if loss is None:
            continue
        _optimizer_step(loss, optimizer, scheduler, scaler, trainable)
        if after_step is not None:
            after_step()
        total, counted = total + loss.detach().item(), counted + 1
        bar.set_postfix(loss=f"{total / counted:.4f}")
    bar.close()
    return total / max(counted, 1)


def _optimizer_step(loss: Any, optimizer: Any, scheduler: Any, scaler: Any,
                   trainable: Sequence[Any]) -> None:
    """Backward through the (possibly scaled) loss, clip the gradient norm at 1, step the
    optimiser and the learning-rate schedule."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()


def scheduled_adamw(model: Any, steps: int, *, epochs: int,
                    lr: float, weight_decay: float, warmup_ratio: float,
                    schedule: str = "linear", layer_decay: float = 1.0) -> tuple[Any, Any]:
    """(AdamW over the trainable parameters, its learning-rate schedule): warm-up, then
    `schedule` decay to zero over `steps` optimiser steps an epoch. With layer_decay < 1
    each encoder layer below the top learns at layer_decay times the rate of the one above."""
    import torch
    from transformers import get_scheduler

    optimizer = torch.optim.AdamW(_param_groups(model, weight_decay, lr, layer_decay), lr=lr)
    total = steps * epochs
    scheduler = get_scheduler(schedule, optimizer, num_warmup_steps=int(total * warmup_ratio),
                              num_training_steps=total)
    return optimizer, scheduler


def _param_groups(model: Any, weight_decay: float, lr: float,
                  layer_decay: float = 1.0) -> list[dict[str, Any]]:
    """Parameter groups keyed by (learning-rate scale, decays?)."""
    n_layers = len(getattr(getattr(model.base_model, "encoder", None), "layer", ()))
    if layer_decay != 1.0 and not n_layers:
        log.warning("layer_decay applies to the embeddings only: %s has no encoder.layer list",
                    type(model).__name__)
    groups: dict[tuple[float, bool], list[Any]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        scale = layer_decay ** _depth_below_top(name, n_layers)
        # No decay on biases and LayerNorm weights, as in the reference BERT recipe.
        groups.setdefault((scale, p.ndim >= 2), []).append(p)
    return [{"params": ps, "lr": lr * scale, "weight_decay": weight_decay if decays else 0.0}
            for (scale, decays), ps in groups.items()]


def _depth_below_top(name: str, n_layers: int) -> int:
    """How many layers a parameter sits below the head: 0 for the head and pooler, 1 for the
    top encoder layer, ..., n_layers + 1 for the embeddings (layer-wise learning-rate decay)."""
    if ".embeddings." in f".{name}":
        return n_layers + 1
    marker = "encoder.layer."
    if marker in name:
        index = name.split(marker, 1)[1].split(".", 1)[0]
        if index.isdigit():
            return n_layers - int(index)
    return 0
