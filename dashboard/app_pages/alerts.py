"""Alerts page: firing and resolved alerts with their evidence; acknowledge and silence."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import actions, auth, data, ui
from dashboard.safe import escape_markdown
from monitor.config import Config

SHOW = {"Firing": ("firing",), "Resolved": ("resolved",), "All": ("firing", "resolved")}
MAX_SHOWN = 50


HEADLINE_COLUMNS = ["published_at", "title", "feed", "topic", "p_negative", "link"]


def _headlines(evidence: dict[str, Any], key: str) -> None:
    heads = evidence.get("headlines") or []
    if not isinstance(heads, list) or not heads:
        st.caption("No headlines recorded with this alert.")
        return
    df = pd.DataFrame([h for h in heads if isinstance(h, dict)])
    st.caption("The most negative headlines in the alert's window")
    ui.show_table(df, key=f"{key}_headlines",
                  columns=[c for c in HEADLINE_COLUMNS if c in df.columns],
                  p_negative=st.column_config.NumberColumn("p(neg)", format="%.2f"))


def _evidence(evidence: dict[str, Any], key: str) -> None:
    """The rest of the evidence as a table and a JSON viewer: never through Markdown."""
    rest = {k: v for k, v in evidence.items() if k != "headlines"}
    scalars = {k: v for k, v in rest.items() if not isinstance(v, dict | list)}
    if scalars:
        st.dataframe(pd.DataFrame({"figure": list(scalars),
                                   "value": [str(v) for v in scalars.values()]}),
                     hide_index=True, key=f"{key}_figures")
    nested = {k: v for k, v in rest.items() if isinstance(v, dict | list) and v}
    if nested:
        st.json(nested, expanded=False)


def _actions(config: Config, alert: pd.Series) -> None:
    aid = int(alert["id"])
    acked = pd.notna(alert["acknowledged_at"])
    c1, c2, c3, c4 = st.columns([1, 1, 2, 1])
    if c1.button("Acknowledged" if acked else "Acknowledge", key=f"ack_{aid}", disabled=acked):
        ui.act("alerts_flash", lambda: actions.acknowledge_alert(config, aid, auth.current_user()),
             f"Alert {aid} acknowledged.")
    hours = c2.number_input("Silence hours", 0.5, 24.0 * 30, 4.0, 0.5, key=f"sil_h_{aid}")
    reason = c3.text_input("Reason", key=f"sil_r_{aid}", max_chars=200)
    if c4.button("Silence scope", key=f"sil_{aid}"):
        ui.act("alerts_flash", lambda: actions.add_silence(config, str(alert["scope_kind"]),
                                      str(alert["scope_value"]), float(hours), reason,
                                      auth.current_user()),
             f"Silenced {alert['scope_kind']} {alert['scope_value']} for {hours:g} h.")


def _alert(config: Config, alert: pd.Series) -> None:
    aid = int(alert["id"])
    with st.container(border=True):
        state = str(alert["state"]).upper()
        st.markdown(f"**{state}** · {escape_markdown(alert['rule'])} · "
                    f"{escape_markdown(alert['scope_kind'])} = "
                    f"{escape_markdown(alert['scope_value'])}")
        st.text(alert["summary"] or "")
        c = st.columns(4)
        c[0].metric("Negative (weighted) in window", f"{alert['window_negative']:.1f}")
        c[1].metric("Expected (baseline)", f"{alert['expected']:.1f}")
        c[2].metric("Articles in window", int(alert["window_count"]))
        c[3].metric("Surprise", f"{alert['statistic']:.3g}",
                    help="−log10 of the burst's p-value: 4 means p = 0.0001")
        times = [f"started {alert['started_at']:%Y-%m-%d %H:%M}"]
        for col in ("fired_at", "resolved_at", "acknowledged_at"):
            if pd.notna(alert[col]):
                times.append(f"{col.split('_')[0]} {alert[col]:%Y-%m-%d %H:%M}")
        st.caption(" · ".join(times) + " (UTC)")
        evidence = dict(alert["evidence"] or {})
        _headlines(evidence, f"ev_{aid}")
        with st.expander("Detection details (baseline, thresholds)"):
            _evidence(evidence, f"ev_{aid}")
        if auth.can_write(config):
            _actions(config, alert)


def main() -> None:
    config = ui.page_config("Alerts")
    url = config.database_url
    if flash := st.session_state.pop("alerts_flash", None):
        st.success(escape_markdown(flash))
    show = st.radio("Show", list(SHOW), horizontal=True, key="alerts_show")
    alerts = data.alerts(url, SHOW[show])
    if alerts.empty:
        st.info("No alerts here. Alerts fire when negative news about a topic or source "
                "bursts above its baseline; `make demo` plays a scripted one.")
    for _, alert in alerts.head(MAX_SHOWN).iterrows():
        _alert(config, alert)
    silences = data.silences(url, data.now())
    st.subheader("Active silences")
    if silences.empty:
        st.caption("None.")
    else:
        st.dataframe(silences, hide_index=True, key="silences_table",
                     column_order=["scope_kind", "scope_value", "until", "reason",
                                   "created_by", "created_at"])


main()
