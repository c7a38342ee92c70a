"""Page plumbing shared by every page: config + failure states, and safe tables of feed text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import context
from dashboard.safe import safe_url
from monitor.config import Config
from monitor.errors import ConfigError, FinSentinelError, StoreError

NO_ARTICLES_HINT = ("No articles yet. Fetch some with `finsentinel poll` (or start the "
                    "monitor with `make run`), or try the offline demo with `make demo`.")
OFFLINE_HINT = ("Every enabled feed is failing: this machine looks offline. "
                "Try the offline demo newswire: `make demo`.")
NO_MODEL_HINT = ("No model is active, so articles are not scored. Create and activate one "
                 "with `finsentinel bootstrap`.")


def page_config(title: str) -> Config:
    """The config for a page, or an explanation on the page and a stop when it is unusable."""
    try:
        config = context.get_config()
        context.engine(config)
    except ConfigError as err:
        st.error(f"Cannot read the configuration: {err}")
        st.stop()
    except StoreError as err:
        st.error(f"Cannot open the database: {err}. Create it with `finsentinel db upgrade` "
                 "or start the monitor with `make run`.")
        st.stop()
    st.title(title)
    if config.dashboard.read_only:
        st.caption("Read-only dashboard: changes are disabled (dashboard.read_only = true).")
    return config


def with_safe_links(df: pd.DataFrame, column: str = "link") -> pd.DataFrame:
    """A copy of df whose link column holds only http(s) URLs (others become empty)."""
    if column in df.columns:
        df = df.copy()
        df[column] = [safe_url(u) for u in df[column]]
    return df


def show_table(df: pd.DataFrame, *, columns: Sequence[str] | None = None,
               key: str | None = None, **config: Any) -> None:
    """st.dataframe (text cells, never HTML) with validated links as a link column."""
    df = with_safe_links(df)
    column_config: dict[str, Any] = {
        "link": st.column_config.LinkColumn("link", display_text="open ↗"),
        **config,
    }
    st.dataframe(df, hide_index=True, column_order=columns, column_config=column_config,
                 key=key)


# Time ranges offered by the pages: (length, bucket minutes for trend charts).
RANGES: dict[str, tuple[float, int]] = {
    "Last 24 hours": (24.0, 60),
    "Last 7 days": (7 * 24.0, 6 * 60),
    "Last 30 days": (30 * 24.0, 24 * 60),
    "Last 90 days": (90 * 24.0, 24 * 60),
}


def act(flash_key: str, action: Callable[[], object], done: str) -> None:
    """Run a write action; show its error, or rerun with `done` flashed under flash_key."""
    try:
        action()
    except FinSentinelError as err:
        st.error(str(err))
    else:
        st.session_state[flash_key] = done
        st.rerun()
