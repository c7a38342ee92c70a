"""The real entry point in a fresh interpreter: exit codes, stderr, `run` and SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from cli_helpers import (
    db_rows,
    db_rows_if_ready,
    finsentinel_argv,
    run_process,
    subprocess_env,
    write_config,
)

from monitor.demo.newswire import FEEDS, generate_items
from monitor.demo.server import NewswireServer


def test_config_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[fetch]\nread_timeout = -1\n")
    done = run_process("--config", str(path), "poll", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: invalid configuration") and "fetch.read_timeout" in line


def test_missing_default_config_is_a_clear_error(tmp_path: Path) -> None:
    done = run_process("feeds", "list", cwd=tmp_path)  # no --config, no ./config.toml
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: config file config.toml not found; pass --config "
                                   "PATH or set FINSENTINEL_CONFIG")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    done = run_process("no-such-command", cwd=tmp_path)
    assert done.returncode == 2 and "No such command" in done.stderr


def test_poll_in_a_subprocess_stores_the_newswire(tmp_path: Path,
                                                  newswire: NewswireServer) -> None:
    write_config(tmp_path / "config.toml", newswire.feed_urls(), database="sqlite:///fs.db")
    done = run_process("poll", cwd=tmp_path)  # ./config.toml is the default
    assert done.returncode == 0, done.stderr
    total = sum(len(generate_items(f, seed=newswire.seed, anchor=newswire.anchor,
                                   now=newswire.clock())) for f in FEEDS)
    assert f"{total} new article(s), 0 error(s)" in done.stdout
    assert db_rows(tmp_path / "fs.db", "select count(*) from articles") == [(total,)]


def test_run_polls_logs_and_stops_cleanly_on_sigterm(tmp_path: Path,
                                                     newswire: NewswireServer) -> None:
    path = write_config(tmp_path / "site" / "config.toml", newswire.feed_urls(),
                        database="sqlite:///data/fs.db", extra="[scheduler]\ntick_seconds = 0.5")
    db = tmp_path / "site" / "data" / "fs.db"
    proc = subprocess.Popen(finsentinel_argv("--config", str(path), "run"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db_rows_if_ready(db, "select count(*) from feeds "
                                    "where last_success_at is not null") == [(5,)]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("run did not poll every feed within 60 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "polled 5 feeds" in err and "monitor stopped" in err
    assert "Traceback" not in err
    assert db_rows(db, "select count(distinct feed_id) from articles") == [(5,)]


def test_run_says_when_every_feed_fails_and_points_to_the_demo(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write_config(tmp_path / "config.toml", {"Down": f"http://127.0.0.1:{port}/a.xml"},
                        extra="[scheduler]\ntick_seconds = 0.5")
    proc = subprocess.Popen(finsentinel_argv("--config", str(path), "run"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env())
    try:
        assert proc.stderr is not None
        deadline, seen = time.monotonic() + 60, []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen.append(line)
            if "every feed failed" in line:
                break
        else:
            raise AssertionError("no every-feed-failed warning:\n" + "".join(seen))
        assert "make demo" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    [(errors, last_error)] = db_rows(tmp_path / "finsentinel.db",
                                     "select error_count, last_error from feeds")
    assert errors == 1 and "refused" in last_error


def test_run_stops_at_start_when_the_proxy_variable_is_not_set(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", {"A": "http://127.0.0.1:9/a.xml"},
                        extra='proxy_env = "FINSENTINEL_TEST_PROXY"')
    done = run_process("--config", str(path), "run", cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert "proxy_env names FINSENTINEL_TEST_PROXY, which is not set" in done.stderr
    assert "Traceback" not in done.stderr  # one line, before any job (else it would run on)
