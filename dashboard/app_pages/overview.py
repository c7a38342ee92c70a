"""Overview page: sentiment trends by topic / source, alerts firing now, key figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from dashboard import charts, data, ui
from dashboard.safe import escape_markdown
from monitor.config import Config

SPLITS = {"Overall": "all", "By topic": "topic", "By source": "feed"}


def _key_figures(config: Config, figures: dict[str, Any], firing: int) -> None:
    cols = st.columns(4)
    cols[0].metric("Articles in range", f"{figures['articles']:,}")
    share, base = figures["negative_share"], figures["baseline_negative_share"]
    delta = None if share is None or base is None else f"{(share - base) * 100:+.1f} pts"
    cols[1].metric("Negative share", "–" if share is None else f"{share:.1%}", delta=delta,
                   delta_color="inverse",
                   help=f"vs the {config.alerts.baseline_days:g} days before the range")
    cols[2].metric("Baseline negative share", "–" if base is None else f"{base:.1%}")
    cols[3].metric("Alerts firing", firing)
    if figures["unscored"]:
        st.caption(f"{figures['unscored']:,} article(s) in range are not scored yet.")


def _firing_alerts(url: str) -> int:
    firing = data.alerts(url, ("firing",))
    st.subheader("Alerts firing now")
    if firing.empty:
        st.success("No alert is firing.")
        return 0
    for _, alert in firing.head(5).iterrows():
        # Escaped: scope values and summaries can carry feed names and headline text.
        st.error(f"**{escape_markdown(alert['scope_kind'])} = "
                 f"{escape_markdown(alert['scope_value'])}** · "
                 f"{escape_markdown(alert['summary'])}", icon=":material/notifications_active:")
    ui.show_table(firing, columns=["id", "rule", "scope_kind", "scope_value", "fired_at",
                                   "window_count", "window_negative", "expected", "summary",
                                   "acknowledged_at"], key="overview_alerts")
    return len(firing)


def _trends(url: str, start: datetime, end: datetime, bucket: int, split: str,
            values: tuple[str, ...]) -> None:
    df = data.trend(url, start, end, bucket, split, values)
    if df.empty:
        st.info("No scored articles in this range for this split.")
        return
    # Explicit heights: Streamlit's theme otherwise squeezes the plot area.
    st.caption("Sentiment index: mean of p(positive) − p(negative), from −1 (all negative) "
               "to +1 (all positive)")
    st.altair_chart(charts.sentiment_index_chart(df), width="stretch", height=300)
    st.caption("Negative volume: articles labelled negative per bucket")
    st.altair_chart(charts.negative_volume_chart(df), width="stretch", height=240)


def main() -> None:
    config = ui.page_config("Overview")
    url = config.database_url
    left, right = st.columns(2)
    range_name = left.selectbox("Time range", list(ui.RANGES), index=1, key="ov_range")
    split_name = right.radio("Trend", list(SPLITS), horizontal=True, key="ov_split")
    hours, bucket = ui.RANGES[range_name]
    split = SPLITS[split_name]
    values: tuple[str, ...] = ()
    if split != "all":
        at = data.now()
        # Busiest over the last week at most: a cheap, recent notion of "busy".
        busiest = data.busiest_scopes(url, at - timedelta(hours=min(hours, 168)), at, split)
        chosen = st.multiselect("Show", busiest, default=busiest[:5], key=f"ov_{split}")
        values = tuple(chosen)

    @st.fragment(run_every=config.dashboard.refresh_seconds)
    def live() -> None:
        at = data.now()
        # The range ends after the current minute, so just-published articles count.
        start = data.floor_time(at - timedelta(hours=hours), bucket)
        end = at + timedelta(minutes=1)
        if data.all_feeds_failing(url):
            st.warning(ui.OFFLINE_HINT)
        if not data.has_articles(url):
            st.info(ui.NO_ARTICLES_HINT)
            return
        figures = data.key_figures(url, start, end, config.alerts.baseline_days)
        _, active = data.model_versions(url)
        if not active.get("sentiment"):
            st.warning(ui.NO_MODEL_HINT)
        firing = _firing_alerts(url)
        _key_figures(config, figures, firing)
        title = "all articles" if split == "all" else ", ".join(values) or "nothing chosen"
        st.subheader(f"Trends: {escape_markdown(title)}")
        if split != "all" and not values:
            st.info("Choose at least one topic or source above.")
            return
        _trends(url, start, end, bucket, split, values if split != "all" else ())
        st.caption(f"Updated {at:%Y-%m-%d %H:%M} UTC; refreshes every "
                   f"{config.dashboard.refresh_seconds:g} s.")

    live()


main()
