"""The app as a whole: navigation, the login gate, and a process that never loads torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import ROOT, seed

APP = str(ROOT / "dashboard" / "app.py")
PAGES = [f"app_pages/{name}.py"
         for name in ("overview", "articles", "alerts", "feeds", "labelling", "models")]
PW_ENV = "FS_TEST_DASHBOARD_PASSWORD"


def test_no_legacy_pages_folder_that_would_bypass_the_login_gate():
    # Streamlit serves every file of a pages/ folder beside the entry script at its own URL
    # (legacy multipage mode), without running app.py and so without the login gate.
    assert not (ROOT / "dashboard" / "pages").exists()


def test_navigation_reaches_every_page(seeded):
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception and at.title[0].value == "Overview"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title[0].value.lower() == page.split("/")[1][:-3]


@pytest.fixture
def locked(tmp_path, monkeypatch):
    s = seed(tmp_path, password_env=PW_ENV, n_per_feed=5)
    monkeypatch.setenv("FINSENTINEL_CONFIG", str(s.config_path))
    yield s
    s.engine.dispose()


def test_login_gate_refuses_wrong_and_admits_right_password(locked, monkeypatch):
    monkeypatch.setenv(PW_ENV, "correct horse")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert [t.value for t in at.title] == ["FinSentinel"]  # no page content before login
    assert not at.get("vega_lite_chart") and not at.dataframe
    at.text_input(key="login_password").set_value("wrong")
    at.button[0].click().run()
    assert "Wrong password" in at.error[0].value
    assert [t.value for t in at.title] == ["FinSentinel"]
    at.text_input(key="login_password").set_value("correct horse")
    at.button[0].click().run()
    assert not at.exception
    assert "Overview" in [t.value for t in at.title]


def test_login_configured_but_password_unset_stays_locked(locked, monkeypatch):
    monkeypatch.delenv(PW_ENV, raising=False)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert PW_ENV in at.error[0].value
    assert not at.text_input and "Overview" not in [t.value for t in at.title]


PROBE = textwrap.dedent("""
    import json, os, sys
    sys.path[:0] = [{root!r}]
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file({app!r}, default_timeout=60)
    at.run()
    errors = [e.value for e in at.exception]
    for page in {pages!r}:
        at.switch_page(page).run()
        errors += [e.value for e in at.exception]
    loaded = sorted(m for m in sys.modules
                    if m.split(".")[0] in ("torch", "transformers", "tokenizers",
                                           "safetensors", "onnxruntime"))
    print(json.dumps({{"errors": errors, "loaded": loaded,
                      "dashboard": sorted(m for m in sys.modules if m.startswith("dashboard")),
                      "titles": [t.value for t in at.title]}}))
""")


def test_dashboard_process_loads_neither_torch_nor_transformers(tmp_path):
    """A fresh interpreter renders every page; afterwards no ML framework is in sys.modules."""
    s = seed(tmp_path, n_per_feed=5)
    s.engine.dispose()
    code = PROBE.format(root=str(ROOT), app=APP, pages=PAGES)
    env = {**os.environ, "FINSENTINEL_CONFIG": str(s.config_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=str(ROOT), timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert "dashboard.app_pages" not in result["dashboard"]  # pages ran as scripts, as served
    assert {"dashboard.data", "dashboard.charts", "dashboard.ui"} <= set(result["dashboard"])
    assert result["titles"] == ["Models"]  # it really walked to the last page
    assert result["loaded"] == []


def test_launcher_passes_port_host_and_config_to_streamlit(tmp_path):
    from click.testing import CliRunner

    from dashboard.context import config_path
    from monitor.cli import cli
    from monitor.commands.dashboard import APP_PATH, streamlit_argv
    from tests.conftest import make_config

    cfg = make_config(tmp_path, dashboard={"port": 8600, "host": "0.0.0.0"})
    argv = streamlit_argv(cfg, str(tmp_path / "c.toml"))
    assert argv[1:5] == ["-m", "streamlit", "run", str(APP_PATH)] and APP_PATH.is_file()
    opts = dict(zip(argv[5:13:2], argv[6:13:2], strict=True))
    assert opts == {"--server.port": "8600", "--server.address": "0.0.0.0",
                    "--server.headless": "true", "--browser.gatherUsageStats": "false"}
    assert argv[-3:] == ["--", "--config", str((tmp_path / "c.toml").resolve())]
    # What Streamlit hands the app after `--` is what dashboard.context reads.
    assert config_path(argv[argv.index("--") + 1:]) == str((tmp_path / "c.toml").resolve())
    assert config_path(["--config=/x.toml"]) == "/x.toml" and config_path([]) is None
    assert streamlit_argv(cfg, None, port=9999)[6] == "9999"
    result = CliRunner().invoke(cli, ["dashboard", "--help"])
    assert result.exit_code == 0 and "--port" in result.output


def test_read_only_refuses_writes_even_without_the_page(tmp_path):
    from sqlalchemy import select

    from dashboard import actions
    from monitor.errors import StoreError
    from monitor.store.schema import alerts
    from tests.conftest import make_config

    s = seed(tmp_path, n_per_feed=3)
    cfg = make_config(tmp_path, database={"url": s.url}, dashboard={"read_only": True})
    for write in (lambda: actions.acknowledge_alert(cfg, s.firing_alert_id, "x"),
                  lambda: actions.add_silence(cfg, "topic", "Earnings", 1, "", "x"),
                  lambda: actions.set_feed_enabled(cfg, 1, False),
                  lambda: actions.activate_model(cfg, "sentiment", "sentiment-v0")):
        with pytest.raises(StoreError, match="read-only"):
            write()
    with s.engine.connect() as conn:
        assert conn.execute(select(alerts.c.acknowledged_at)
                            .where(alerts.c.id == s.firing_alert_id)).scalar() is None
    s.engine.dispose()


def test_password_comparison():
    from dashboard.auth import passwords_match

    assert passwords_match("sesame", "sesame")
    assert not passwords_match("sesame ", "sesame") and not passwords_match("", "sesame")
    assert passwords_match("pässwörd", "pässwörd")


def test_secret_from_env_reads_only_the_named_variable():
    from monitor.config import secret_from_env

    env = {"FS_PW": "s3cret", "FS_EMPTY": ""}
    assert secret_from_env("FS_PW", env) == "s3cret"
    assert secret_from_env("FS_EMPTY", env) is None  # an empty password is no password
    assert secret_from_env("FS_MISSING", env) is None and secret_from_env("", env) is None
