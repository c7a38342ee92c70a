"""Train the default models from the bootstrap set for the tasks that have no active version."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from training.bootstrap import BOOTSTRAP_RECIPE, LABEL_COLUMNS, bootstrap_data_path

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BootstrapResult:
    """What bootstrap did for one task: trained a version, or skipped (with the reason)."""

    task: str
    version: str | None
    skipped: str | None = None
    metrics: dict[str, Any] | None = None
    seconds: float | None = None


def _skip_reason(config: Config, engine: Engine, task: str, force: bool) -> str | None:
    from monitor.config_sections import DEFAULT_TOPICS
    from monitor.scoring import registry

    active = registry.active_version(engine, task)
    if active is not None and not force:
        return f"active version {active} exists"
    if task == "topic" and not config.model.bootstrap_data and \
            set(config.model.topics) != set(DEFAULT_TOPICS):
        # The shipped set is labelled with the default taxonomy only.
        return ("model.topics differs from the default taxonomy the bootstrap set is "
                "labelled with; train a topic model on your own data with `finsentinel train "
                "--task topic`")
    return None


def bootstrap(config: Config, engine: Engine, tasks: Sequence[str], *, now: datetime,
              force: bool = False, joint: bool = False, progress: bool = True,
              overrides: dict[str, Any] | None = None) -> list[BootstrapResult]:
    """Train the first model of every task in tasks that has none active (all with force).

    With joint, tasks that both need a model are trained over one shared encoder: one run
    instead of two, and scoring both then costs one encoder pass. Not the default: measured
    on real data, the jointly trained topic model was less accurate (0.582 vs 0.589, macro-F1
    0.513 vs 0.544; training/bootstrap/README.md): the templated sentiment head keeps fitting
    the templates while the topic head trains on.
    """
    from monitor.scoring import registry
    from training.data import load_labelled, task_labels
    from training.joint import train_joint_versions
    from training.train import TrainParams, train_version

    results: dict[str, BootstrapResult] = {}
    todo = []
    for task in tasks:
        reason = _skip_reason(config, engine, task, force)
        if reason is None:
            todo.append(task)
        else:
            results[task] = BootstrapResult(task, registry.active_version(engine, task),
                                            skipped=reason)
    if not todo:
        return [results[task] for task in tasks]
    path = bootstrap_data_path(config.model.bootstrap_data, config.resolve_path)
    parts = [load_labelled([path], task, task_labels(task, config),
                           label_column=LABEL_COLUMNS[task]) for task in todo]
    params = TrainParams(**{**BOOTSTRAP_RECIPE, **(overrides or {})})
    log.info("bootstrap: training the %s model(s) from %s (%d rows)", " and ".join(todo), path,
             max((len(p.examples) for p in parts), default=0))
    if joint and len(parts) > 1:
        outcomes = train_joint_versions(config, engine, parts, params, now=now,
                                        progress=progress)
    else:
        outcomes = [train_version(config, engine, part, params, now=now, progress=progress)
                    for part in parts]
    for outcome in outcomes:
        task = outcome.card["task"]
        results[task] = BootstrapResult(task, outcome.version, metrics=outcome.metrics,
                                        seconds=outcome.card.get("training_seconds"))
    return [results[task] for task in tasks]
