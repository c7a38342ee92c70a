"""Model soup: K fine-tunes from one starting point, averaged weight by weight into one model.

Fine-tuning runs that start from the same weights (the base plus one seeded head) and differ
only in their data order and dropout (their seeds) end close together, so the average of their
weights is itself a good model (Wortsman et al., "Model soups", 2022), scored at the cost of
one. Three-run soups beat the mean of their runs by 0.5 and 1.7 points of held-out accuracy
on FPB and 0.3 on topic (README, Accuracy experiments); averaging the runs' predictions gains
more but costs three models at scoring time. Every member and the soup are judged on the same
labelled validation split; the soup is saved unless it clearly trails the best member (a
failed soup), and the card records every figure.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.errors import DataError
from monitor.scoring.base_model import BaseModelSpec, load_base_for_classification
from training.data import Example, LabelledData
from training.device import pick_device
from training.evaluate import evaluate_examples, headline_metrics
from training.lexical import attach_lexical
from training.train import (
    FitResult,
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
MAX_MEMBERS = 10
# The soup is kept unless it trails the best run on validation by more than this. Each run's
# figure is the best of its epochs, so it is biased upward by that choice, and on a few
# hundred validation rows it swings 1-3 points from epoch to epoch (FPB: README); a soup of
# runs that did not end in one basin falls much further, toward chance.
FAILED_SOUP_MARGIN = 0.03


@dataclass(frozen=True)
class Souped:
    """The outcome of make_soup(): the model to keep and what the card says about it."""

    chosen: FitResult
    tokenizer: Any
    summary: dict[str, Any]
    members: tuple[FitResult, ...]  # for benchmarks that test each one
    soup: FitResult


def check_members(members: int) -> None:
    """Refuse a soup of fewer than 2 or more than MAX_MEMBERS runs, naming the option."""
    if not 2 <= members <= MAX_MEMBERS:
        raise DataError(f"--soup must be between 2 and {MAX_MEMBERS} fine-tunes to average, "
                        f"got {members}")


def average_weights(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The element-wise mean of state dicts of one architecture (integer buffers such as
    position ids are equal in all of them and are taken from the first)."""
    first = states[0]
    if any(s.keys() != first.keys() for s in states[1:]):
        raise ValueError("cannot average models with different parameters")
    out = {}
    for name, tensor in first.items():
        if tensor.is_floating_point():  # summed in float64, stored in the model's dtype
            out[name] = (sum(s[name].double() for s in states) / len(states)).to(tensor.dtype)
        else:
            out[name] = tensor.clone()
    return out


def make_soup(base: BaseModelSpec, train: Sequence[Example], val: Sequence[Example],
              labels: Sequence[str], params: TrainParams, *, members: int, device: Any = None,
              progress: bool = True) -> Souped:
    """`members` fine-tunes (seeds params.seed, +1, ...) from one head drawn with params.seed,
    averaged; the soup is chosen unless it failed (see FAILED_SOUP_MARGIN), else the best run."""
    check_members(members)
    device = device or pick_device()
    started = time.monotonic()
    fits: list[FitResult] = []
    tokenizer: Any = None
    for k in range(members):
        log.info("soup member %d of %d (seed %d) on %d examples", k + 1, members,
                 params.seed + k, len(train))
        # The same head for every member: runs from one starting point average well.
        model, tokenizer = load_base_for_classification(base, tuple(labels), seed=params.seed)
        fits.append(fit(model, tokenizer, train, val, labels,
                        replace(params, seed=params.seed + k), device=device,
                        progress=progress))
    model = copy.deepcopy(fits[0].model)  # a new module: the members stay as they are
    model.load_state_dict(average_weights([f.model.state_dict() for f in fits]))
    model.to(device).eval()
    metrics = evaluate_examples(model, tokenizer, [e.text for e in val], [e.label for e in val],
                                labels, max_length=params.max_length, device=device)
    model.to("cpu")
    soup = FitResult(model, metrics, (), 0, time.monotonic() - started, fits[0].device,
                     fits[0].batch_size)
    best = max(range(members), key=lambda k: fits[k].metrics["macro_f1"])
    keep_soup = metrics["macro_f1"] >= fits[best].metrics["macro_f1"] - FAILED_SOUP_MARGIN
    summary = {
        "members": [{"seed": params.seed + k, "best_epoch": f.best_epoch,
                     "validation": headline_metrics(f.metrics), "history": list(f.history)}
                    for k, f in enumerate(fits)],
        "soup_validation": headline_metrics(metrics),
        "kept": "soup" if keep_soup else f"member (seed {params.seed + best})",
    }
    chosen = soup if keep_soup else replace(fits[best], seconds=soup.seconds)
    return Souped(chosen, tokenizer, summary, tuple(fits), soup)


def train_soup(config: Config, engine: Engine, data: LabelledData, params: TrainParams, *,
               members: int, now: datetime, base_model: str | None = None,
               progress: bool = True) -> TrainOutcome:
    """make_soup() on the task's split, then save and register the kept model as a version."""
    from monitor.scoring import registry

    check_members(members)
    base, train, val = checked_split(config, data, params, base_model)
    out = make_soup(base, train, val, data.labels, params, members=members,
                    device=pick_device(config.model.device), progress=progress)
    card = build_card(data, base, params, out.chosen, len(train), len(val), now)
    card["soup"] = out.summary
    if out.summary["kept"] == "soup":  # epochs belong to the members, recorded above
        card["best_epoch"], card["history"] = None, []
    card, lexical = attach_lexical(card, out.chosen.model, out.tokenizer, train, val,
                                   data.labels, max_length=params.max_length,
                                   enabled=params.lexical)
    return save_and_register(config, engine, out.chosen.model, out.tokenizer, card,
                             registry.new_version_id(data.task, now), now=now, lexical=lexical)
