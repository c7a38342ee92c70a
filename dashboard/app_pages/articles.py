"""Articles page: filter by time, topic, sentiment, source, confidence and text; newest first."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import streamlit as st

from dashboard import data, ui
from monitor.store.views import ArticleFilter
from monitor.types import SENTIMENT_LABELS

PAGE_SIZE = 50
ALL_TIME = "All time"
_CURSORS = "articles_cursors"  # stack of keyset cursors: one per page already passed
_FILTER_KEY = "articles_filter"


def _filters(url: str) -> tuple[ArticleFilter, tuple[object, ...]]:
    """The filter, and a key for it that stays the same while the user changes nothing."""
    options = data.filter_options(url)
    feed_names = {name: fid for fid, name in options["feeds"]}
    c1, c2, c3 = st.columns(3)
    range_name = c1.selectbox("Time range", [*ui.RANGES, ALL_TIME], index=1, key="ar_range")
    topics = c2.multiselect("Topic", options["topics"], key="ar_topics")
    sentiments = c3.multiselect("Sentiment", list(SENTIMENT_LABELS), key="ar_sentiments")
    c4, c5, c6 = st.columns(3)
    sources = c4.multiselect("Source", list(feed_names), key="ar_sources")
    min_conf = c5.slider("Minimum confidence", 0.0, 1.0, 0.0, 0.05, key="ar_min_conf",
                         help="of the sentiment prediction")
    text = c6.text_input("Text contains", key="ar_text", max_chars=200,
                         help="words or phrases in the title or summary, matched from the "
                              "start of a word, case-insensitive")
    start = None
    if range_name != ALL_TIME:
        start = data.now() - timedelta(hours=ui.RANGES[range_name][0])
    f = ArticleFilter(start=start, topics=tuple(topics), sentiments=tuple(sentiments),
                      feed_ids=tuple(feed_names[s] for s in sources),
                      min_confidence=min_conf or None, text=text.strip())
    # The range's start moves every minute; the user's choice (its name) does not.
    return f, (range_name, replace(f, start=None))


def _pager_state(key: tuple[object, ...]) -> list[tuple[datetime, int]]:
    # Paging restarts whenever the filter changes: old cursors belong to another result set.
    if st.session_state.get(_FILTER_KEY) != key:
        st.session_state[_FILTER_KEY] = key
        st.session_state[_CURSORS] = []
    return st.session_state[_CURSORS]


def main() -> None:
    config = ui.page_config("Articles")
    url = config.database_url
    f, key = _filters(url)
    cursors = _pager_state(key)
    before = cursors[-1] if cursors else None
    df, next_cursor = data.article_page(url, f, before, PAGE_SIZE)
    if df.empty and not cursors:
        if not data.has_articles(url):
            st.info(ui.NO_ARTICLES_HINT)
        else:
            st.info("No article matches these filters. Widen the time range or clear a filter.")
        return
    st.caption(f"Page {len(cursors) + 1} · {len(df)} article(s), newest first")
    ui.show_table(
        df, key="articles_table",
        columns=["published_at", "feed", "title", "link", "sentiment", "sentiment_confidence",
                 "p_negative", "p_neutral", "p_positive", "topic", "topic_confidence",
                 "sentiment_version", "topic_version"],
        published_at=st.column_config.DatetimeColumn("published (UTC)",
                                                     format="YYYY-MM-DD HH:mm"),
        sentiment_confidence=st.column_config.NumberColumn("confidence", format="%.2f"),
        p_negative=st.column_config.NumberColumn("p(neg)", format="%.2f"),
        p_neutral=st.column_config.NumberColumn("p(neu)", format="%.2f"),
        p_positive=st.column_config.NumberColumn("p(pos)", format="%.2f"),
        topic_confidence=st.column_config.NumberColumn("topic conf.", format="%.2f"),
    )
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("‹ Newer", disabled=not cursors, key="ar_newer"):
        cursors.pop()
        st.rerun()
    if b2.button("Older ›", disabled=next_cursor is None, key="ar_older") and next_cursor:
        cursors.append(next_cursor)
        st.rerun()


main()
