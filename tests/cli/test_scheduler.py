"""monitor.scheduler: interval jobs run at start and repeatedly, never overlap, survive failures."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from monitor.errors import StoreError
from monitor.scheduler import Job, build_scheduler, run_jobs


def _run_for(jobs: list[Job], seconds: float) -> None:
    stop = threading.Event()
    runner = threading.Thread(target=run_jobs, args=(jobs,),
                              kwargs={"stop": stop, "handle_signals": False})
    runner.start()
    time.sleep(seconds)
    stop.set()
    runner.join(timeout=10)
    assert not runner.is_alive()


def test_jobs_run_at_start_then_every_interval_and_failures_do_not_stop_them() -> None:
    calls: list[datetime] = []
    failures: list[int] = []

    def boom(now: datetime) -> None:
        failures.append(1)
        raise RuntimeError("job bug")

    def store_down(now: datetime) -> None:
        raise StoreError("database is away")

    _run_for([Job("record", calls.append, 0.2), Job("boom", boom, 0.2),
              Job("store", store_down, 0.2)], 1.1)
    assert 3 <= len(calls) <= 7  # at start, then every 0.2 s (loose: shared CI machines)
    assert all(c.tzinfo is not None for c in calls)
    assert len(failures) >= 3  # a failing job keeps being scheduled


def test_a_slow_job_never_runs_twice_at_once_and_missed_runs_coalesce() -> None:
    running, overlaps, runs = [0], [0], [0]
    lock = threading.Lock()

    def slow(now: datetime) -> None:
        with lock:
            running[0] += 1
            overlaps[0] = max(overlaps[0], running[0])
        time.sleep(0.5)
        with lock:
            running[0] -= 1
            runs[0] += 1

    _run_for([Job("slow", slow, 0.05)], 1.3)
    assert overlaps[0] == 1
    assert 2 <= runs[0] <= 4  # not the 26 runs that 0.05 s ticks would have queued


def test_stopping_waits_for_a_running_job_to_finish() -> None:
    finished = threading.Event()

    def long(now: datetime) -> None:
        time.sleep(0.8)
        finished.set()

    _run_for([Job("long", long, 60)], 0.2)
    assert finished.is_set()


def test_job_names_must_be_unique_and_present() -> None:
    with pytest.raises(ValueError, match="unique"):
        build_scheduler([Job("a", print, 1), Job("a", print, 2)])
    with pytest.raises(ValueError, match="no jobs"):
        build_scheduler([])
