"""SQL for the model registry: recorded versions and the per-task activation history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from monitor.store.schema import model_activations, model_versions


@dataclass(frozen=True)
class VersionRow:
    """A recorded model version as the registry reports it."""

    version: str
    task: str
    path: str
    base_model: str | None
    metrics: dict[str, Any]
    card: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class ActivationRow:
    """One activation of a version for a task; the newest row per task is the active one."""

    id: int
    task: str
    version: str
    activated_at: datetime
    reason: str | None


def _version(row: Any) -> VersionRow:
    return VersionRow(version=row.version, task=row.task, path=row.path,
                      base_model=row.base_model, metrics=dict(row.metrics or {}),
                      card=dict(row.card or {}), created_at=row.created_at)


def _activation(row: Any) -> ActivationRow:
    return ActivationRow(id=row.id, task=row.task, version=row.version,
                         activated_at=row.activated_at, reason=row.reason)


def insert_version(conn: Connection, *, version: str, task: str, path: str,
                   base_model: str | None, metrics: dict[str, Any], card: dict[str, Any],
                   created_at: datetime) -> None:
    conn.execute(insert(model_versions).values(
        version=version, task=task, path=path, base_model=base_model, metrics=metrics,
        card=card, created_at=created_at))


def get_version(conn: Connection, version: str) -> VersionRow | None:
    row = conn.execute(select(model_versions)
                       .where(model_versions.c.version == version)).first()
    return None if row is None else _version(row)


def list_versions(conn: Connection, task: str | None = None) -> list[VersionRow]:
    q = select(model_versions).order_by(model_versions.c.task, model_versions.c.created_at,
                                        model_versions.c.version)
    if task is not None:
        q = q.where(model_versions.c.task == task)
    return [_version(r) for r in conn.execute(q)]


def insert_activation(conn: Connection, *, task: str, version: str, activated_at: datetime,
                      reason: str | None) -> None:
    conn.execute(insert(model_activations).values(
        task=task, version=version, activated_at=activated_at, reason=reason))


def activations(conn: Connection, task: str, *, limit: int | None = None) -> list[ActivationRow]:
    """Activation history of a task, newest first."""
    q = (select(model_activations).where(model_activations.c.task == task)
         .order_by(model_activations.c.id.desc()))
    if limit is not None:
        q = q.limit(limit)
    return [_activation(r) for r in conn.execute(q)]


def current_activation(conn: Connection, task: str) -> ActivationRow | None:
    rows = activations(conn, task, limit=1)
    return rows[0] if rows else None


def delete_activation(conn: Connection, activation_id: int) -> None:
    conn.execute(delete(model_activations).where(model_activations.c.id == activation_id))
