"""Engine creation (SQLite WAL + foreign keys, or PostgreSQL) and Alembic migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.search import SEARCH_OBJECT_NAMES

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An Engine for url; for SQLite, creates the parent folder and turns on WAL + FKs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"database url {url!r} is not a valid SQLAlchemy URL "
                         "(e.g. sqlite:///data/finsentinel.db or "
                         "postgresql+psycopg://user@host/db)") from None
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        # Threads of one process share the engine; each connection is used by one at a time.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we ship
        kwargs["pool_pre_ping"] = True
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the dashboard read while the monitor writes; NORMAL sync is durable in WAL
    # mode at commit boundaries, which is what "no half-written article" needs.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic include_name hook: skip the search objects migrations create outside schema.py.

    The FTS5 table (and its shadow tables) and the PostgreSQL GIN expression index cannot be
    expressed in SQLAlchemy metadata, so autogenerate would otherwise propose dropping them.
    """
    return not (type_ in ("table", "index") and name in SEARCH_OBJECT_NAMES)


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to revision (`finsentinel db upgrade`)."""
    cfg = _alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as err:
        raise StoreError(f"cannot migrate database {engine.url!r}: {err.orig}") from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def ensure_current(engine: Engine) -> None:
    """Raise StoreError unless the database is migrated to head."""
    try:
        cur = current_revision(engine)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot open database {engine.url!r}: {err}") from None
    if cur != head_revision():
        raise StoreError(f"database {engine.url!r} is at revision {cur or 'none'}, "
                         f"expected {head_revision()}; run `finsentinel db upgrade`")


def open_store(url: str, *, migrate: bool = True, echo: bool = False) -> Engine:
    """Engine for url, migrated to head when migrate is true (the monitor's start-up path)."""
    engine = make_engine(url, echo=echo)
    if migrate:
        upgrade(engine)
    else:
        ensure_current(engine)
    return engine
