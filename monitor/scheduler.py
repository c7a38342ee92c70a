"""APScheduler wiring only: run named interval jobs until SIGTERM/SIGINT, then stop cleanly.

The monitor's work is a list of ``Job(name, func(now), interval_seconds)``; what each job
does lives elsewhere (polling in monitor.ingest, scoring, alerts). Every job runs at start,
then every interval; a run that overlaps the previous one is skipped (max_instances=1) and
missed runs collapse into one (coalesce), so a slow tick never piles up work.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.errors import FinSentinelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A named piece of periodic work; func receives the aware-UTC time of the run."""

    name: str
    func: Callable[[datetime], object]
    interval_seconds: float
    run_at_start: bool = True


def _guarded(job: Job, clock: Callable[[], datetime]) -> Callable[[], None]:
    """Wrap a job so that a failing run is logged and the next run still happens."""

    def run() -> None:
        try:
            job.func(clock())
        except FinSentinelError as err:  # expected trouble (DB away, bad model): one line
            log.error("job %s failed: %s", job.name, err)
        except Exception:
            log.exception("job %s failed unexpectedly; it runs again in %.0f s",
                          job.name, job.interval_seconds)

    return run


def build_scheduler(jobs: Sequence[Job], *,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                    ) -> BackgroundScheduler:
    """A (not yet started) scheduler with one interval trigger per job."""
    if not jobs:
        raise ValueError("no jobs to schedule")
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique, got {names}")
    scheduler = BackgroundScheduler(
        timezone=UTC,
        # One thread per job: jobs never wait for each other, and each runs one at a time.
        executors={"default": ThreadPoolExecutor(max_workers=len(jobs))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    start = clock()
    for job in jobs:
        scheduler.add_job(_guarded(job, clock), "interval", seconds=job.interval_seconds,
                          id=job.name, name=job.name,
                          next_run_time=start if job.run_at_start else None)
    return scheduler


def run_jobs(jobs: Sequence[Job], *, stop: threading.Event | None = None,
             handle_signals: bool = True) -> None:
    """Run jobs until stop is set or SIGTERM/SIGINT arrives; running jobs finish first.

    A second signal while waiting for running jobs exits at once: every stage writes in
    per-feed/per-batch transactions, so an abrupt exit loses no stored data.
    """
    stop = stop or threading.Event()
    scheduler = build_scheduler(jobs)
    if handle_signals:
        _install_signal_handlers(stop)
    scheduler.start()
    log.info("monitor started: %s", ", ".join(f"{j.name} every {j.interval_seconds:g} s"
                                             for j in jobs))
    try:
        while not stop.wait(1.0):
            pass
    finally:
        log.info("stopping: waiting for running jobs to finish (signal again to exit now)")
        scheduler.shutdown(wait=True)
        log.info("monitor stopped")


def _install_signal_handlers(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("second %s: exiting without waiting for running jobs", name)
            os._exit(128 + signum)
        log.info("received %s", name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
