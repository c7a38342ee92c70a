"""Helpers for the CLI tests: write config files, invoke the CLI in-process or as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.cli import cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Variables that would change what a test sees; removed unless a test sets them.
CLEAN_ENV = {"FINSENTINEL_CONFIG": None, "FINSENTINEL_DATABASE_URL": None}


def write_config(path: Path, feeds: Mapping[str, str] | None = None, *,
                 database: str = "sqlite:///finsentinel.db", extra: str = "",
                 poll_minutes: float = 15.0) -> Path:
    """A config.toml at path (its folder created) with the given feeds."""
    lines = ["[database]", f"url = {json.dumps(database)}", "", "[fetch]",
             "allow_private_addresses = true", "connect_timeout = 5.0", "read_timeout = 10.0",
             extra]
    for name, url in (feeds or {}).items():
        lines += ["", "[[feeds]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}",
                  f"poll_minutes = {poll_minutes}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def invoke(args: Sequence[str], *, env: Mapping[str, str | None] | None = None,
           input: str | None = None) -> Result:
    """Run the CLI in-process (click's CliRunner), as `finsentinel ARGS` would."""
    return CliRunner().invoke(cli, list(args), env={**CLEAN_ENV, **(env or {})}, input=input)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra)
    return env


def finsentinel_argv(*args: str) -> list[str]:
    """argv running the real entry point (monitor.cli:main) in a fresh interpreter."""
    return [sys.executable, "-m", "monitor.cli", *args]


def run_process(*args: str, cwd: Path, timeout: float = 120,
                **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(finsentinel_argv(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=subprocess_env(**env))


def db_rows(db_path: Path, sql: str) -> list[tuple]:
    """Rows of a query on a SQLite file, read with a separate engine (as another process)."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def db_rows_if_ready(db_path: Path, sql: str) -> list[tuple] | None:
    """Like db_rows, but None while the file or its tables do not exist yet (being migrated)."""
    if not db_path.exists():
        return None
    try:
        return db_rows(db_path, sql)
    except OperationalError:
        return None
