"""The score job: score pending articles with each task's active version, batch by batch.

Called by the scheduler every few seconds and by `finsentinel score`. Each run asks the
registry which version is active, so `finsentinel models activate` takes effect on the next
run without a restart. A new active version first scores never-scored articles, then
re-scores the articles published within ``model.rescore_window_hours`` before its activation;
older articles keep their earlier scores (every score row names its version). Each batch is
stored in its own transaction and already-stored (article, task, version) rows are skipped,
so a crash loses at most one batch of work and a re-run is harmless.

A version that cannot be loaded (corrupt, missing, hash mismatch) is logged once and its
articles wait, unscored; the job returns normally so ingestion keeps running. Loaded
classifiers and load failures are kept by monitor.scoring.model_cache.

When both tasks are scored and their active versions share an encoder (joint training) and
``model.share_encoder`` is on, both are served by one encoder pass (monitor.scoring.shared):
the first task's run also computes the second's probabilities, which its run then reuses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring import registry
from monitor.scoring.classifier import Classifier
from monitor.scoring.model_cache import ModelCache
from monitor.store.scores import articles_to_score, restore_current_scores, save_predictions
from monitor.text import model_input
from monitor.types import Prediction, Task

log = logging.getLogger(__name__)

# Articles per task before the other task takes its turn (see score_pending); well below the
# shared scorer's memo (monitor.scoring.shared.MEMO_SIZE).
ROUND_ARTICLES = 5_000
# Articles per transaction: several model batches, so one commit covers real work.
ARTICLES_PER_CHUNK_FACTOR = 8


@dataclass(frozen=True)
class TaskReport:
    """What one run did for one task."""

    task: str
    version: str | None
    scored: int = 0  # never-scored articles that got a score
    rescored: int = 0  # articles in the window re-scored by a newly active version
    restored: int = 0  # articles whose current scores moved back to stored ones (rollback)
    backend: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ScoreReport:
    """What one run of the score job did, per task."""

    tasks: tuple[TaskReport, ...]

    @property
    def scored(self) -> int:
        return sum(t.scored + t.rescored for t in self.tasks)

    @property
    def errors(self) -> dict[str, str]:
        return {t.task: t.error for t in self.tasks if t.error}


# The monitor process's one cache: each model loads once per process (see ModelCache).
_PROCESS_CACHE = ModelCache()


def score_pending(engine: Engine, config: Config, now: datetime, *,
                  loader: ModelCache | None = None,
                  tasks: tuple[str, ...] = (Task.SENTIMENT.value, Task.TOPIC.value),
                  max_articles: int | None = None,
                  round_articles: int = ROUND_ARTICLES) -> ScoreReport:
    """Score unscored articles (and the re-score window) for each task's active version.

    loader defaults to one process-wide cache. max_articles bounds the work per task in one
    run (None = until nothing is pending). The tasks take turns, round_articles each, so a
    shared encoder pass finds the other task's results in its memo even for a backlog far
    larger than the memo. Never raises for an unusable model.
    """
    cache = _PROCESS_CACHE if loader is None else loader
    if len(tasks) > 1 and config.model.share_encoder:
        actives = [registry.active_info(engine, task) for task in tasks]
        cache.prepare_shared([a for a in actives if a is not None], config, now)
    totals: dict[str, TaskReport] = {}
    remaining = max_articles
    while True:
        budget = round_articles if remaining is None else min(round_articles, remaining)
        done = 0
        for task in tasks:
            report = _score_task(engine, config, task, now, cache, budget)
            totals[task] = _add(totals.get(task), report)
            done = max(done, report.scored + report.rescored)
        if remaining is not None:
            remaining -= done
        if done < budget or (remaining is not None and remaining <= 0):
            return ScoreReport(tuple(totals[task] for task in tasks))


def _add(before: TaskReport | None, now: TaskReport) -> TaskReport:
    """One task's report over several rounds of a run."""
    if before is None:
        return now
    return replace(now, scored=before.scored + now.scored,
                   rescored=before.rescored + now.rescored,
                   restored=before.restored + now.restored)


def _score_task(engine: Engine, config: Config, task: str, now: datetime, cache: ModelCache,
                max_articles: int | None) -> TaskReport:
    active = registry.active_info(engine, task)
    if active is None:
        cache.note_no_active(task)
        return TaskReport(task, None, error="no active version")
    clf = cache.get(active, config, now)
    if clf is None:
        return TaskReport(task, active.version, error=cache.error_for(active.version))
    window = timedelta(hours=config.model.rescore_window_hours)
    since = active.activated_at - window
    chunk = max(config.model.batch_size * ARTICLES_PER_CHUNK_FACTOR, 64)
    try:
        restored = 0
        if window > timedelta(0):
            with engine.begin() as conn:
                restored = restore_current_scores(conn, task, active.version,
                                                  published_since=since, limit=100_000)
        scored = _drain(engine, clf, None, now, chunk, max_articles)
        rescored = 0
        if window > timedelta(0):
            budget = None if max_articles is None else max(max_articles - scored, 0)
            rescored = _drain(engine, clf, since, now, chunk, budget)
    except (ModelError, RuntimeError, ValueError) as err:
        # A model that loads but fails on real input: keep the monitor alive, say why.
        log.error("scoring %s with %s failed: %s: %s", task, active.version,
                  type(err).__name__, err)
        return TaskReport(task, active.version, backend=clf.backend, error=str(err))
    if scored or rescored or restored:
        log.info("%s: scored %d new, re-scored %d, restored %d with %s", task, scored,
                 rescored, restored, active.version)
    return TaskReport(task, active.version, scored=scored, rescored=rescored,
                      restored=restored, backend=clf.backend)


def _drain(engine: Engine, clf: Classifier, since: datetime | None, now: datetime, chunk: int,
           budget: int | None) -> int:
    """Score batches until none is pending (or the budget is spent); returns rows stored."""
    done = 0
    while budget is None or done < budget:
        limit = chunk if budget is None else min(chunk, budget - done)
        with engine.connect() as conn:
            batch = articles_to_score(conn, clf.task, clf.version, limit=limit,
                                      published_since=since)
        if not batch:
            break
        probs = clf.predict_proba([model_input(a.title, a.summary) for a in batch])
        preds = [Prediction(article_id=a.id, task=clf.task, model_version=clf.version,
                            label=max(p, key=p.__getitem__), probs=p)
                 for a, p in zip(batch, probs, strict=True)]
        try:
            with engine.begin() as conn:
                stored = save_predictions(conn, preds, now)
        except IntegrityError:
            # Another scorer (a `finsentinel score` beside the monitor) stored these first.
            log.info("%s batch already scored by another process; moving on", clf.task)
            stored = 0
        if stored == 0:
            break  # nothing new stored: stop rather than loop on the same batch
        done += stored
        log.debug("%s: stored %d scores (%d this run)", clf.task, stored, done)
    return done
