"""Feeds page: health per feed, enable/disable, and add a feed after previewing what it gives."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import actions, auth, data, ui
from dashboard.safe import escape_markdown, safe_url
from monitor.config import Config
from monitor.errors import FinSentinelError
from monitor.types import ParsedFeed

HEALTH_COLUMNS = ["name", "enabled", "articles_per_day", "last_success_at", "error_count",
                  "last_error", "next_check_at", "latest_article_at", "disabled_reason", "url"]


def _health(url: str) -> pd.DataFrame:
    feeds = data.feed_health(url, data.now())
    if feeds.empty:
        st.info("No feeds yet. List feeds under [[feeds]] in config.toml, add one below, or "
                "try the offline demo with `make demo`.")
        return feeds
    if data.all_feeds_failing(url):
        st.warning(ui.OFFLINE_HINT)
    failing = int((feeds["error_count"] > 0).sum())
    c1, c2, c3 = st.columns(3)
    c1.metric("Feeds", len(feeds))
    c2.metric("Enabled", int(feeds["enabled"].sum()))
    c3.metric("Failing", failing)
    st.dataframe(feeds, hide_index=True, column_order=HEALTH_COLUMNS, key="feeds_table",
                 column_config={
                     "articles_per_day": st.column_config.NumberColumn("articles/day (7 d)",
                                                                       format="%.1f"),
                     "url": st.column_config.TextColumn("url"),
                 })
    return feeds


def _toggle(config: Config, feeds: pd.DataFrame) -> None:
    st.subheader("Enable or disable a feed")
    names = list(feeds["name"])
    name = st.selectbox("Feed", names, key="feed_toggle_name")
    row = feeds[feeds["name"] == name].iloc[0]
    enabled = bool(row["enabled"])
    label = "Disable feed" if enabled else "Enable feed"
    if st.button(label, key="feed_toggle"):
        actions.set_feed_enabled(config, int(row["id"]), not enabled)
        st.rerun()


def _add(config: Config) -> None:
    st.subheader("Add a feed")
    name = st.text_input("Name", key="add_feed_name", max_chars=200)
    url = st.text_input("Feed URL (RSS or Atom, http/https)", key="add_feed_url")
    minutes = st.number_input("Poll every (minutes)", 1.0, 1440.0, 15.0, key="add_feed_minutes")
    c1, c2, _ = st.columns([1, 1, 3])
    if url and safe_url(url.strip()) is None:
        st.error("The feed URL must be an absolute http:// or https:// address.")
        return
    if c1.button("Preview", key="add_feed_preview", disabled=not url):
        try:
            parsed = actions.preview_feed(config, url.strip())
        except FinSentinelError as err:
            st.error(f"Preview failed: {err}")
        else:
            st.session_state["add_feed_previewed"] = url.strip()
            _show_preview(parsed)
    previewed = st.session_state.get("add_feed_previewed") == url.strip()
    if c2.button("Add feed", key="add_feed_submit", disabled=not (name and url and previewed),
                 help="Preview the feed first"):
        try:
            actions.add_feed(config, name.strip(), url.strip(), float(minutes))
        except FinSentinelError as err:
            st.error(str(err))
        else:
            st.session_state.pop("add_feed_previewed", None)
            st.success(f"Added feed {escape_markdown(name)}; the monitor polls it at its next "
                       "tick (or run `finsentinel poll`).")


def _show_preview(parsed: ParsedFeed) -> None:
    st.text(f"Feed title: {parsed.title or '(none)'}")
    if parsed.warning:
        st.warning(f"The feed parsed with a warning: {escape_markdown(parsed.warning)}")
    st.caption(f"{len(parsed.entries)} entries would be stored (before de-duplication):")
    rows = [{"published_at": e.published_at, "title": e.title, "link": e.link}
            for e in parsed.entries]
    ui.show_table(pd.DataFrame(rows, columns=["published_at", "title", "link"]),
                  key="add_feed_preview_table")


def main() -> None:
    config = ui.page_config("Feeds")
    feeds = _health(config.database_url)
    if not auth.can_write(config):
        return
    if not feeds.empty:
        _toggle(config, feeds)
    _add(config)


main()
