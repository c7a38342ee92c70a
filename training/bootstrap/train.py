"""Train the default models from the bootstrap set for every task that has no active version."""

from __future__ import annotations

import logging
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


def bootstrap_task(config: Config, engine: Engine, task: str, *, now: datetime,
                   force: bool = False, progress: bool = True,
                   overrides: dict[str, Any] | None = None) -> BootstrapResult:
    """Train task's first model from the bootstrap set unless it already has an active one."""
    from monitor.config import DEFAULT_TOPICS
    from monitor.scoring import registry
    from training.data import load_labelled, task_labels
    from training.train import TrainParams, train_version

    active = registry.active_version(engine, task)
    if active is not None and not force:
        return BootstrapResult(task, active, skipped=f"active version {active} exists")
    path = bootstrap_data_path(config.model.bootstrap_data, config.resolve_path)
    if task == "topic" and not config.model.bootstrap_data and \
            set(config.model.topics) != set(DEFAULT_TOPICS):
        # The shipped set is labelled with the default taxonomy only.
        return BootstrapResult(task, None, skipped="model.topics differs from the default "
                               "taxonomy the bootstrap set is labelled with; train a topic "
                               "model on your own data with `finsentinel train --task topic`")
    data = load_labelled([path], task, task_labels(task, config),
                         label_column=LABEL_COLUMNS[task])
    params = TrainParams(**{**BOOTSTRAP_RECIPE, **(overrides or {})})
    log.info("bootstrap: training the %s model from %s (%d rows)", task, path,
             len(data.examples))
    outcome = train_version(config, engine, data, params, now=now, progress=progress)
    return BootstrapResult(task, outcome.version, metrics=outcome.metrics,
                           seconds=outcome.card.get("training_seconds"))
