"""SQL for the labels table: user-given labels (dashboard, imports) that training reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from monitor.store.schema import labels


@dataclass(frozen=True)
class LabelRow:
    """One stored label: the text it applies to, the task and the label given."""

    id: int
    article_id: int | None
    text: str
    task: str
    label: str
    source: str
    created_by: str | None
    created_at: datetime


def _label(row: Any) -> LabelRow:
    return LabelRow(id=row.id, article_id=row.article_id, text=row.text, task=row.task,
                    label=row.label, source=row.source, created_by=row.created_by,
                    created_at=row.created_at)


def save_label(conn: Connection, *, text: str, task: str, label: str, now: datetime,
               article_id: int | None = None, source: str = "dashboard",
               created_by: str | None = None) -> int:
    """Store a label; an article already labelled for the task gets its label replaced.

    Returns the label row id.
    """
    if article_id is not None:
        existing = conn.execute(select(labels.c.id).where(
            labels.c.article_id == article_id, labels.c.task == task)).scalar()
        if existing is not None:
            conn.execute(update(labels).where(labels.c.id == existing).values(
                text=text, label=label, source=source, created_by=created_by,
                created_at=now))
            return int(existing)
    result = conn.execute(insert(labels).values(
        article_id=article_id, text=text, task=task, label=label, source=source,
        created_by=created_by, created_at=now))
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for the new label")
    return int(key[0])


def list_labels(conn: Connection, task: str) -> list[LabelRow]:
    """Every label of a task, oldest first."""
    q = select(labels).where(labels.c.task == task).order_by(labels.c.id)
    return [_label(r) for r in conn.execute(q)]


def count_labels(conn: Connection, task: str) -> int:
    return int(conn.execute(select(func.count()).select_from(labels)
                            .where(labels.c.task == task)).scalar() or 0)
