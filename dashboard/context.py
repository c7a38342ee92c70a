"""Which config and database the dashboard serves: the launcher's --config and one engine."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import streamlit as st
from sqlalchemy.engine import Engine

from monitor.config import Config, load_config
from monitor.errors import StoreError
from monitor.store.engine import open_store


def config_path(argv: Sequence[str] | None = None) -> str | None:
    """The --config PATH the launcher passes after `--`; None lets load_config use its default."""
    args = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def get_config() -> Config:
    """The validated config (re-read each run: a small file, and edits show up without restart)."""
    return load_config(config_path())


@st.cache_resource(show_spinner=False)
def _engine(url: str, migrate: bool) -> Engine:
    return open_store(url, migrate=migrate)


def engine(config: Config) -> Engine:
    """The shared engine; read-only dashboards never migrate the database."""
    return _engine(config.database_url, not config.dashboard.read_only)


def engine_for(url: str) -> Engine:
    """The shared engine of the configured database, which must be the one at url."""
    # The cached reads take the URL (hashable, and it keys the cache) rather than the Config.
    cfg = get_config()
    if cfg.database_url != url:
        raise StoreError(f"database {url!r} is not the configured one")
    return engine(cfg)
