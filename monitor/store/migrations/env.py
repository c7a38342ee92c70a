"""Alembic environment: runs on the connection handed in by monitor.store.engine.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from monitor.store.engine import include_name
from monitor.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=conn, target_metadata=metadata,
                      render_as_batch=conn.dialect.name == "sqlite", compare_type=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # the alembic CLI (e.g. autogenerate during development)
    with create_engine(config.get_main_option("sqlalchemy.url") or "").begin() as conn:
        _run(conn)
