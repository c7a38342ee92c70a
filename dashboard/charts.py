"""Pure DataFrame -> Altair chart builders (no Streamlit, no database)."""

from __future__ import annotations

import altair as alt
import pandas as pd

_SENTIMENT_COLOURS = alt.Scale(domain=["negative", "neutral", "positive"],
                               range=["#d62728", "#9e9e9e", "#2ca02c"])


def _scope_colour(df: pd.DataFrame) -> alt.Color:
    return alt.Color("scope:N", title=None, legend=alt.Legend(orient="bottom", columns=4))


def sentiment_index_chart(df: pd.DataFrame, *, title: str = "Sentiment index") -> alt.Chart:
    """Lines of the sentiment index per scope over time (df: bucket, scope, index, count)."""
    base = alt.Chart(df, title=title).mark_line(point=len(df) < 60)
    return base.encode(
        x=alt.X("bucket:T", title=None),
        y=alt.Y("index:Q", title="sentiment index",
                scale=alt.Scale(domain=[-1, 1])),
        color=_scope_colour(df),
        tooltip=[alt.Tooltip("bucket:T", title="from", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("scope:N"), alt.Tooltip("index:Q", format=".3f"),
                 alt.Tooltip("count:Q", title="articles")],
    ).properties(height=260)


def negative_volume_chart(df: pd.DataFrame, *, title: str = "Negative volume") -> alt.Chart:
    """Stacked bars of negative articles per bucket and scope (df: bucket, scope, negative)."""
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("bucket:T", title=None),
        y=alt.Y("negative:Q", title="negative articles", stack="zero"),
        color=_scope_colour(df),
        tooltip=[alt.Tooltip("bucket:T", title="from", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("scope:N"), alt.Tooltip("negative:Q", format=".1f"),
                 alt.Tooltip("count:Q", title="articles")],
    ).properties(height=200)


def sentiment_mix_chart(counts: dict[str, int]) -> alt.Chart:
    """One horizontal stacked bar of the negative / neutral / positive split."""
    df = pd.DataFrame([{"sentiment": k, "articles": int(counts.get(k, 0)), "all": "articles"}
                       for k in ("negative", "neutral", "positive")])
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("articles:Q", stack="normalize", title="share", axis=alt.Axis(format="%")),
        y=alt.Y("all:N", title=None, axis=None),
        color=alt.Color("sentiment:N", scale=_SENTIMENT_COLOURS, title=None),
        tooltip=["sentiment:N", "articles:Q"],
    ).properties(height=60)
