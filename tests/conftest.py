"""Shared fixtures: a real SQLite file per test, a real PostgreSQL database when available."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from monitor.config import Config, config_from_dict
from monitor.store.engine import open_store

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
POSTGRES_ENV = "FINSENTINEL_TEST_POSTGRES_URL"
# Fixed instant for pure decision code: tests pass `now` instead of patching clocks.
NOW = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data folder beside the project); not present")
    return path


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'finsentinel.db'}"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    eng = open_store(sqlite_url)
    yield eng
    eng.dispose()


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine on SQLite and on a fresh PostgreSQL database (store tests run on both).

    In CI (CI=true) a missing PostgreSQL is a failure, not a skip: the store must be proven there.
    """
    if request.param == "sqlite":
        eng = open_store(f"sqlite:///{tmp_path / 'store.db'}")
        yield eng
        eng.dispose()
        return
    admin_url = _postgres_admin_url()
    if admin_url is None:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set in CI; .ci/run must start PostgreSQL")
        pytest.skip(f"set {POSTGRES_ENV} to a PostgreSQL server URL to run the PostgreSQL leg")
    name = f"fs_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = open_store(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_config(tmp_path: Path, **sections: object) -> Config:
    """A validated Config rooted at tmp_path with a SQLite file there; sections override."""
    data: dict[str, object] = {"database": {"url": f"sqlite:///{tmp_path / 'finsentinel.db'}"},
                               "fetch": {"allow_private_addresses": True}}
    data.update(sections)
    return config_from_dict(data, base_dir=tmp_path, env={})
