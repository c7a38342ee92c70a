"""Acceptance: `finsentinel run` killed with SIGKILL mid-poll and restarted loses nothing,
duplicates nothing, and leaves no half-written article."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import (
    db_rows,
    db_rows_if_ready,
    finsentinel_argv,
    invoke,
    subprocess_env,
    write_config,
)

from monitor.demo.newswire import FEEDS, generate_items
from monitor.demo.server import NewswireServer

# Feeds answer one after another, so a poll is visibly in progress for several seconds.
DELAYS = {f.slug: 1.2 * i for i, f in enumerate(FEEDS)}
ARTICLES = ("select f.name, a.guid, a.title, a.summary, a.published_at, a.content_hash "
            "from articles a join feeds f on f.id = a.feed_id")


def _start(config: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(finsentinel_argv("--config", str(config), "run"), cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env())


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _feeds_with_articles(db: Path) -> dict[str, int]:
    rows = db_rows_if_ready(db, "select f.name, count(*) from articles a join feeds f "
                                "on f.id = a.feed_id group by f.name")
    return dict(rows or [])


def _assert_consistent(db: Path, expected: dict[str, int]) -> None:
    """No duplicates, no incomplete rows, and every feed stored all of its entries or none."""
    assert db_rows(db, "select feed_id, guid from articles group by feed_id, guid "
                       "having count(*) > 1") == []
    assert db_rows(db, "select content_hash from articles group by content_hash "
                       "having count(*) > 1") == []
    assert db_rows(db, "select id from articles where title is null or title = '' or "
                       "published_at is null or content_hash is null or fetched_at is null "
                       "or length(content_hash) < 16") == []
    for name, n in _feeds_with_articles(db).items():
        assert n == expected[name], f"feed {name} has {n} of {expected[name]} articles"


@pytest.mark.slow
def test_sigkill_mid_poll_then_restart_stores_exactly_a_clean_runs_articles(
        tmp_path: Path, newswire: NewswireServer) -> None:
    expected = {f.title: len(generate_items(f, seed=newswire.seed, anchor=newswire.anchor,
                                            now=newswire.clock())) for f in FEEDS}
    reference = write_config(tmp_path / "ref" / "config.toml", newswire.feed_urls())
    assert invoke(["--config", str(reference), "poll"]).exit_code == 0
    clean = sorted(db_rows(tmp_path / "ref" / "finsentinel.db", ARTICLES))
    assert len(clean) == sum(expected.values())

    newswire.delays.update(DELAYS)
    config = write_config(tmp_path / "run" / "config.toml", newswire.feed_urls(),
                          extra="[scheduler]\ntick_seconds = 0.5", poll_minutes=60)
    db = tmp_path / "run" / "finsentinel.db"

    # 1. Killed when some feeds are stored and others are still downloading.
    proc = _start(config, tmp_path)
    _wait_for(lambda: 1 <= len(_feeds_with_articles(db)), 60, "the first stored feed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = _feeds_with_articles(db)
    assert 1 <= len(partial) < len(FEEDS), "the kill should land mid-poll"
    _assert_consistent(db, expected)

    # 2. Restarted and killed again a moment later, at whatever point it has reached.
    proc = _start(config, tmp_path)
    time.sleep(2.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    _assert_consistent(db, expected)

    # 3. Restarted and left to finish its poll, then stopped the normal way.
    proc = _start(config, tmp_path)
    try:
        _wait_for(lambda: db_rows(db, "select count(*) from feeds where last_success_at "
                                      "is not null") == [(len(FEEDS),)], 60, "a full poll")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    _assert_consistent(db, expected)
    assert _feeds_with_articles(db) == expected
    assert sorted(db_rows(db, ARTICLES)) == clean
