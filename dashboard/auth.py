"""Optional login (a configured password, or Streamlit's built-in OIDC st.login) and read-only.

Two ways to protect a dashboard that is reachable by others:

* Password: set ``dashboard.password_env = "FINSENTINEL_DASHBOARD_PASSWORD"`` in config.toml
  and export that variable before ``finsentinel dashboard``. The entered password is compared
  in constant time (hmac.compare_digest). If the variable is unset the dashboard stays locked
  rather than open.
* OIDC single sign-on (Google, Microsoft, Okta, ...): leave ``password_env`` empty and add an
  ``[auth]`` section to ``.streamlit/secrets.toml`` (redirect_uri, cookie_secret, client_id,
  client_secret, server_metadata_url), as described in Streamlit's authentication docs. The
  dashboard then shows a "Log in" button (st.login) and records the user's e-mail address on
  acknowledgements and silences.

``dashboard.read_only = true`` hides every control that writes (acknowledge, silence, feed
enable/disable/add, labels, model activation) and the store refuses writes from the dashboard.
"""

from __future__ import annotations

import hmac
import logging

import streamlit as st

from monitor.config import Config, secret_from_env

log = logging.getLogger(__name__)

_STATE_KEY = "finsentinel_authenticated"


def passwords_match(given: str, expected: str) -> bool:
    """Constant-time comparison, so response time says nothing about the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def oidc_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering False
        return False


def login_gate(config: Config) -> bool:
    """True when the visitor may see the dashboard; otherwise draws the login and returns False."""
    name = config.dashboard.password_env
    if name:
        return _password_gate(name)
    if oidc_configured():
        return _oidc_gate()
    return True


def _password_gate(env_name: str) -> bool:
    if st.session_state.get(_STATE_KEY):
        return True
    expected = secret_from_env(env_name)
    st.title("FinSentinel")
    if expected is None:
        # Fail closed: a configured but missing password must not open the dashboard.
        st.error(f"Login is configured (dashboard.password_env = {env_name!r}) but the "
                 f"environment variable {env_name} is not set. Set it and restart "
                 "`finsentinel dashboard`, or empty dashboard.password_env to turn login off.")
        return False
    with st.form("login"):
        given = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        if passwords_match(given, expected):
            st.session_state[_STATE_KEY] = True
            st.rerun()
        log.warning("dashboard login failed")
        st.error("Wrong password.")
    return False


def _oidc_gate() -> bool:
    if st.user.is_logged_in:
        st.sidebar.button("Log out", on_click=st.logout)
        return True
    st.title("FinSentinel")
    st.button("Log in", on_click=st.login, type="primary")
    return False


def current_user() -> str:
    """Who is acting, for acknowledged_by / created_by: the OIDC e-mail or "dashboard"."""
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("name") or "dashboard")
    except Exception:  # st.user needs auth configured; without it there is no named user
        pass
    return "dashboard"


def can_write(config: Config) -> bool:
    return not config.dashboard.read_only
