"""Loaded classifiers for the active versions, kept in-process, load failures remembered.

The score job (monitor.scoring.job) asks this cache for each task's classifier on every run:
a version is loaded once, the one it replaced is dropped, and a version that cannot be
loaded (corrupt, missing, hash mismatch, labels the store cannot hold) is logged once and
retried every RETRY_FAILED_LOAD. When both tasks' active versions share an encoder (joint
training) and ``model.share_encoder`` is on, prepare_shared installs one classifier per task
over a single encoder pass (monitor.scoring.shared).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring import registry
from monitor.scoring.artifact import LoadedModel
from monitor.scoring.classifier import Classifier
from monitor.types import SENTIMENT_LABELS, Task

log = logging.getLogger(__name__)

# A version that failed to load is retried this often (someone may repair the folder).
RETRY_FAILED_LOAD = timedelta(minutes=10)
# Task order for a shared pass: the first task's version folder holds the shared ONNX graph.
_TASK_ORDER = (Task.SENTIMENT.value, Task.TOPIC.value)


def _default_build(loaded: LoadedModel, config: Config) -> Classifier:
    from monitor.scoring.classifier import make_classifier

    return make_classifier(loaded, config)


def _default_build_pair(models: Sequence[LoadedModel],
                        config: Config) -> dict[str, Classifier] | None:
    from monitor.scoring.shared import shared_views

    return shared_views(models, config)


def _default_load(path: Path) -> LoadedModel:
    from monitor.scoring.artifact import load_version

    return load_version(path)


@dataclass
class ModelCache:
    """Loaded classifiers kept in-process, keyed by version; load failures remembered.

    One cache lives for the life of the monitor process, so a model is loaded once, and a
    version that replaced it is dropped to free memory.
    """

    load: Callable[[Path], LoadedModel] = _default_load
    build: Callable[[LoadedModel, Config], Classifier] = _default_build
    # Both tasks' classifiers over one encoder pass, or None when they do not share one.
    build_pair: Callable[[Sequence[LoadedModel], Config],
                         dict[str, Classifier] | None] = _default_build_pair
    _models: dict[str, Classifier] = field(default_factory=dict)
    _failed: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _told_no_active: set[str] = field(default_factory=set)

    def get(self, active: registry.ActiveVersion, config: Config,
            now: datetime) -> Classifier | None:
        """The classifier for the active version, or None (reason in error_for)."""
        self._told_no_active.discard(active.task)
        clf = self._models.get(active.version)
        if clf is not None:
            return clf
        failed = self._failed.get(active.version)
        if failed is not None and now - failed[1] < RETRY_FAILED_LOAD:
            return None
        try:
            clf = self.build(self._load_checked(active), config)
        except ModelError as err:
            if failed is None:
                log.error("cannot score %s articles: active model %s is unusable: %s. "
                          "Articles wait unscored until a good version is activated.",
                          active.task, active.version, err)
            self._failed[active.version] = (str(err), now)
            return None
        self._install(active, clf)
        return clf

    def prepare_shared(self, actives: Sequence[registry.ActiveVersion], config: Config,
                       now: datetime) -> None:
        """Load the active versions together and, when they share an encoder, install one
        classifier per task over a single encoder pass (separate ones otherwise).

        A no-op when model.share_encoder is off or the cache already holds classifiers for
        exactly these versions; a version that fails to load is left to get(), which
        reports and remembers the failure.
        """
        if not config.model.share_encoder or len(actives) < 2:
            return
        if all(a.version in self._models for a in actives):
            return
        if any(self._recently_failed(a.version, now) for a in actives):
            return
        actives = sorted(actives, key=lambda a: _TASK_ORDER.index(a.task)
                         if a.task in _TASK_ORDER else len(_TASK_ORDER))
        try:
            loaded = [self._load_checked(a) for a in actives]
        except ModelError:
            return
        clfs: dict[str, Classifier] | None = None
        try:
            clfs = self.build_pair(loaded, config)
        except Exception as err:  # a shared pass is an optimisation: fall back, say why
            log.warning("one-pass scoring of %s failed to build (%s: %s); scoring each task "
                        "separately", ", ".join(a.version for a in actives),
                        type(err).__name__, err)
        try:
            if clfs is None:
                clfs = {m.task: self.build(m, config) for m in loaded}
        except ModelError:
            return
        for active in actives:
            self._install(active, clfs[active.task])

    def _load_checked(self, active: registry.ActiveVersion) -> LoadedModel:
        loaded = self.load(active.path)
        if loaded.task != active.task or loaded.version != active.version:
            raise ModelError(f"folder {active.path} holds {loaded.task} version "
                             f"{loaded.version}, but the registry expects {active.task} "
                             f"version {active.version}")
        _check_labels(loaded)
        return loaded

    def _recently_failed(self, version: str, now: datetime) -> bool:
        failed = self._failed.get(version)
        return failed is not None and now - failed[1] < RETRY_FAILED_LOAD

    def _install(self, active: registry.ActiveVersion, clf: Classifier) -> None:
        if self._failed.pop(active.version, None) is not None:
            log.info("model %s loads now; %s scoring resumes", active.version, active.task)
        for version, old in list(self._models.items()):
            if old.task == active.task:  # replaced by the new active version: free it
                del self._models[version]
        self._models[active.version] = clf
        log.info("scoring %s with %s (%s)", active.task, active.version, clf.backend)

    def error_for(self, version: str) -> str | None:
        failed = self._failed.get(version)
        return None if failed is None else failed[0]

    def note_no_active(self, task: str) -> None:
        if task not in self._told_no_active:
            log.warning("no active %s model: %s articles wait unscored. Run `finsentinel "
                        "bootstrap` (default models) or `finsentinel train --task %s --data "
                        "FILE`, or activate one with `finsentinel models activate VERSION`.",
                        task, task, task)
            self._told_no_active.add(task)
        for version, old in list(self._models.items()):
            if old.task == task:
                del self._models[version]


def _check_labels(loaded: LoadedModel) -> None:
    # The store keeps p_negative/p_neutral/p_positive per article: a sentiment model must
    # speak exactly those labels, or the sentiment index would silently read None.
    if loaded.task == Task.SENTIMENT.value and set(loaded.labels) != set(SENTIMENT_LABELS):
        raise ModelError(f"sentiment model {loaded.version} has labels {list(loaded.labels)}; "
                         f"sentiment models must use exactly {list(SENTIMENT_LABELS)} "
                         "(map raw labels with `finsentinel train --label-map`)")
