"""The dashboard's entry point: login gate, then st.navigation over the pages; nothing else.

The page scripts live in app_pages/, NOT pages/: Streamlit treats a pages/ folder beside the
entry script as a legacy multipage app, serving each file at its own URL without running
this script first, which would let /alerts bypass the login gate. A test guards this.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from dashboard import auth, context  # noqa: E402
from monitor.errors import FinSentinelError  # noqa: E402

st.set_page_config(page_title="FinSentinel", page_icon=":material/monitoring:", layout="wide")

try:
    _config = context.get_config()
except FinSentinelError as err:
    st.error(f"Cannot read the configuration: {err}")
    st.stop()

if auth.login_gate(_config):
    st.navigation([
        st.Page("app_pages/overview.py", title="Overview", icon=":material/monitoring:",
                default=True),
        st.Page("app_pages/articles.py", title="Articles", icon=":material/article:"),
        st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications_active:"),
        st.Page("app_pages/feeds.py", title="Feeds", icon=":material/rss_feed:"),
        st.Page("app_pages/labelling.py", title="Labelling", icon=":material/label:"),
        st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
    ]).run()
