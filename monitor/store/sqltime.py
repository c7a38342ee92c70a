"""Portable SQL time arithmetic: whole Unix-epoch seconds of a stored UTC timestamp."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - SQL function naming
    """Whole seconds since 1970-01-01 of a naive-UTC timestamp column, per dialect."""

    type = Integer()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    # EXTRACT(EPOCH FROM timestamp without time zone) is the nominal UTC epoch: no TZ games.
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def epoch_of(dt: datetime) -> int:
    """Whole seconds since the Unix epoch of an aware datetime."""
    return int((dt - EPOCH).total_seconds())
