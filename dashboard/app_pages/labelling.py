"""Labelling page: people label articles' sentiment or topic; training reads them (--from-db)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import actions, auth, data, ui
from monitor.config import Config
from monitor.types import SENTIMENT_LABELS

QUEUE_DAYS = 14
QUEUE_SIZE = 20


def _choices(config: Config, task: str) -> list[str]:
    return list(SENTIMENT_LABELS) if task == "sentiment" else list(config.model.topics)


def _article(row: pd.Series) -> None:
    # Feed text: st.text only, never Markdown or HTML.
    st.text(row["title"])
    if row["summary"]:
        st.text(row["summary"][:1000])
    st.caption(f"{row['feed']} · {row['published_at']:%Y-%m-%d %H:%M} UTC")
    pred = (f"model says: {row['sentiment'] or 'unscored'}"
            f" ({row['sentiment_confidence'] or 0:.2f}), topic {row['topic'] or '-'}"
            f" ({row['topic_confidence'] or 0:.2f})")
    st.text(pred)
    if link := ui.with_safe_links(pd.DataFrame([row]))["link"].iloc[0]:
        st.link_button("Open the original", link)


def main() -> None:
    config = ui.page_config("Labelling")
    url = config.database_url
    counts = data.label_counts(url)
    c1, c2 = st.columns(2)
    c1.metric("Sentiment labels", counts.get("sentiment", 0))
    c2.metric("Topic labels", counts.get("topic", 0))
    st.caption("Train on them with `finsentinel train --task sentiment --from-db`.")
    if not auth.can_write(config):
        st.info("Labelling is disabled in a read-only dashboard.")
        return
    task = st.radio("Label", list(data.TASKS), horizontal=True, key="lab_task")
    since = data.now() - timedelta(days=QUEUE_DAYS)
    queue = data.label_queue(url, task, since, QUEUE_SIZE)
    skipped = st.session_state.setdefault("lab_skipped", set())
    queue = queue[~queue["id"].isin(skipped)]
    if queue.empty:
        st.info(f"Nothing left to label from the last {QUEUE_DAYS} days. "
                + (ui.NO_ARTICLES_HINT if not data.has_articles(url) else ""))
        return
    st.caption(f"{len(queue)} unlabelled article(s) shown, least confident first.")
    row = queue.iloc[0]
    with st.container(border=True):
        _article(row)
    label = st.radio("Your label", _choices(config, task), horizontal=task == "sentiment",
                     index=None, key=f"lab_choice_{task}_{int(row['id'])}")
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("Save label", type="primary", disabled=label is None, key="lab_save"):
        actions.save_label(config, int(row["id"]), row["title"], row["summary"] or "", task,
                        str(label), auth.current_user())
        st.toast("Label saved")
        st.rerun()
    if b2.button("Skip", key="lab_skip"):
        skipped.add(int(row["id"]))
        st.rerun()


main()
