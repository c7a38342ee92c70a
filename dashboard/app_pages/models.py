"""Models page: versions per task with their card metrics, the active one, activate/rollback."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import actions, auth, data, ui
from monitor.config import Config


def _task(config: Config, task: str, versions: pd.DataFrame, active: str | None) -> None:
    st.subheader(task.capitalize())
    st.text(f"Active version: {active or 'none'}")
    mine = versions[versions["task"] == task] if not versions.empty else versions
    if mine.empty:
        st.info(f"No {task} model version is registered. " + ui.NO_MODEL_HINT)
        return
    mine = mine.dropna(axis=1, how="all").sort_values("created_at", ascending=False)
    st.dataframe(mine.drop(columns=["task"]), hide_index=True, key=f"models_{task}")
    if not auth.can_write(config):
        return
    c1, c2, c3 = st.columns([3, 1, 1])
    choice = c1.selectbox("Version", list(mine["version"]), key=f"models_pick_{task}")
    if c2.button("Activate", key=f"models_activate_{task}", disabled=choice == active):
        ui.act("models_flash", lambda: actions.activate_model(config, task, choice),
               f"Activated {choice}.")
    if c3.button("Roll back", key=f"models_rollback_{task}", disabled=active is None):
        ui.act("models_flash", lambda: actions.rollback_model(config, task), "Rolled back.")


def main() -> None:
    config = ui.page_config("Models")
    versions, active = data.model_versions(config.database_url)
    if flash := st.session_state.pop("models_flash", None):
        st.success(flash)
    if not any(active.values()):
        st.warning(ui.NO_MODEL_HINT)
    for task in data.TASKS:
        _task(config, task, versions, active.get(task))
    st.caption("The monitor picks up a newly activated version at its next scoring run and "
               f"re-scores the last {config.model.rescore_window_hours:g} hours.")


main()
