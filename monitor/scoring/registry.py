"""The model registry: version ids, version folders, and which version is active per task.

Folders live under ``config.registry_path / task / version``; the database records each
version (with its card and metrics) and an activation history per task whose newest row is
the active version. Rolling back appends a row marked as a rollback, so the history stays
complete and a second rollback goes one step further back. No torch here: the dashboard and
the CLI list versions without loading models.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring.artifact import verify_version
from monitor.store import models as store
from monitor.store.models import ActivationRow, VersionRow
from monitor.types import Task

log = logging.getLogger(__name__)

ROLLBACK_PREFIX = "rollback"
_TASKS = tuple(t.value for t in Task)


@dataclass(frozen=True)
class ActiveVersion:
    """The active version of a task, with where it lives and when it was activated."""

    task: str
    version: str
    path: Path
    activated_at: datetime


def new_version_id(task: str, now: datetime) -> str:
    """A unique, sortable version id such as ``sentiment-20261128-111500-ab12cd``."""
    _check_task(task)
    return f"{task}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def version_dir(config: Config, task: str, version: str) -> Path:
    return config.registry_path / task / version


def _check_task(task: str) -> None:
    if task not in _TASKS:
        raise ModelError(f"unknown task {task!r}; expected one of {', '.join(_TASKS)}")


def register_version(engine: Engine, config: Config, folder: Path, *, now: datetime) -> str:
    """Record a verified version folder; activate it when its task has no active version.

    Returns the version id. Re-registering the same version from the same folder is a no-op.
    """
    folder = Path(folder).resolve()
    card = verify_version(folder)
    version, task = card["version"], card["task"]
    _check_task(task)
    with engine.begin() as conn:
        existing = store.get_version(conn, version)
        if existing is not None:
            if Path(existing.path) != folder:
                raise ModelError(f"model version {version} is already registered from "
                                 f"{existing.path}; refusing to register {folder} under the "
                                 "same id")
            return version
        store.insert_version(conn, version=version, task=task, path=str(folder),
                             base_model=_base_model_name(card),
                             metrics=dict(card.get("metrics") or {}), card=card,
                             created_at=now)
        if store.current_activation(conn, task) is None:
            store.insert_activation(conn, task=task, version=version, activated_at=now,
                                    reason="first version of the task")
            log.info("registered and activated %s (first %s model)", version, task)
        else:
            log.info("registered %s; activate it with `finsentinel models activate %s`",
                     version, version)
    return version


def _base_model_name(card: dict[str, Any]) -> str | None:
    base = card.get("base_model")
    if isinstance(base, dict):
        base = base.get("name") or base.get("path")
    return None if base is None else str(base)


def activate(engine: Engine, task: str, version: str, *, now: datetime,
             reason: str | None = None, verify: bool = True) -> None:
    """Make version the active one for task (picked up by the score job without a restart).

    With verify (the default) the folder is checked first, so a corrupt copy is refused
    here rather than discovered by the monitor.
    """
    _check_task(task)
    with engine.begin() as conn:
        row = _known_version(conn, version)
        if row.task != task:
            raise ModelError(f"model version {version} is a {row.task} model, not {task}")
        if verify:
            verify_version(Path(row.path))
        store.insert_activation(conn, task=task, version=version, activated_at=now,
                                reason=reason or "activated")
    log.info("activated %s for %s", version, task)


def _known_version(conn: Connection, version: str) -> VersionRow:
    row = store.get_version(conn, version)
    if row is None:
        raise ModelError(f"unknown model version {version!r}; see `finsentinel models list`")
    return row


def activation_stack(history: list[ActivationRow]) -> list[str]:
    """Replay a task's activation history (newest first) into the stack of active versions.

    A normal activation pushes its version; a rollback row pops the version it replaced.
    The last element is the active version, the one before it is where rollback goes.
    """
    stack: list[str] = []
    for row in reversed(history):
        if (row.reason or "").startswith(ROLLBACK_PREFIX) and len(stack) > 1:
            stack.pop()
            stack[-1] = row.version
        else:
            stack.append(row.version)
    return stack


def rollback(engine: Engine, task: str, *, now: datetime) -> str:
    """Go back to the version that was active before the current one; returns it."""
    _check_task(task)
    with engine.begin() as conn:
        stack = activation_stack(store.activations(conn, task))
        if len(stack) < 2:
            raise ModelError(f"no earlier {task} version to roll back to "
                             f"(active: {stack[-1] if stack else 'none'})")
        current, previous = stack[-1], stack[-2]
        store.insert_activation(conn, task=task, version=previous, activated_at=now,
                                reason=f"{ROLLBACK_PREFIX} from {current}")
    log.info("rolled %s back from %s to %s", task, current, previous)
    return previous


def active_version(engine_or_conn: Engine | Connection, task: str) -> str | None:
    """The active version id of task, or None when no version was ever activated."""
    info = active_info(engine_or_conn, task)
    return None if info is None else info.version


def active_info(engine_or_conn: Engine | Connection, task: str) -> ActiveVersion | None:
    """The active version of task with its folder and activation time, or None."""
    if isinstance(engine_or_conn, Connection):
        return _active_info(engine_or_conn, task)
    with engine_or_conn.connect() as conn:
        return _active_info(conn, task)


def _active_info(conn: Connection, task: str) -> ActiveVersion | None:
    act = store.current_activation(conn, task)
    if act is None:
        return None
    row = _known_version(conn, act.version)
    return ActiveVersion(task=task, version=act.version, path=Path(row.path),
                         activated_at=act.activated_at)


def list_versions(engine: Engine, task: str | None = None) -> list[VersionRow]:
    """Recorded versions (oldest first per task); see active_version for the active one."""
    if task is not None:
        _check_task(task)
    with engine.connect() as conn:
        return store.list_versions(conn, task)


def activation_history(engine: Engine, task: str) -> list[ActivationRow]:
    """A task's activations, newest first (for `models list` and the dashboard)."""
    _check_task(task)
    with engine.connect() as conn:
        return store.activations(conn, task)
