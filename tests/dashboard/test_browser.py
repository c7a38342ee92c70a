"""End to end in a real headless Chromium (Debian's) against a running `streamlit run`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor.commands.dashboard import streamlit_argv
from monitor.config import load_config
from tests.dashboard.conftest import ROOT, seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
OUTPUT = ROOT / "test-output"
CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks'
ML_LIBRARIES = ("libtorch", "/torch/", "/transformers/", "/tokenizers/", "onnxruntime")

pytestmark = pytest.mark.slow


def _need_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI; .ci/run must `apt-get install -y chromium`")
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                        timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not answer on port {port} within {timeout} s")


@contextmanager
def _serve(tmp_path: Path, env: dict[str, str] | None = None,
           **seed_options: object) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real `streamlit run dashboard/app.py` (the launcher's argv) on a seeded database."""
    _need_chromium()
    s = seed(tmp_path, **seed_options)  # type: ignore[arg-type]
    s.engine.dispose()
    port = _free_port()
    argv = streamlit_argv(load_config(s.config_path), str(s.config_path), port=port,
                          host="127.0.0.1")
    log = open(tmp_path / "streamlit.log", "wb")
    proc = subprocess.Popen(argv, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    try:
        _wait_healthy(port, proc)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with _serve(tmp_path) as served:
        yield served


def _browser(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def test_overview_chart_and_alert_render_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, proc = server
    shot = tmp_path / "dashboard-overview.png"
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
            page.locator(CHART).first.wait_for(state="visible", timeout=60_000)
            assert page.locator('[data-testid="stVegaLiteChart"]').count() == 2
            alert = page.locator('[data-testid="stAlert"]', has_text="Earnings").first
            alert.wait_for(state="visible", timeout=30_000)
            assert "Negative news about Earnings" in alert.inner_text()
            assert page.locator("script", has_text="alert('xss')").count() == 0
            page.wait_for_timeout(1500)  # let Vega finish its layout before the picture
            page.screenshot(path=str(shot), full_page=True)
            page.goto(f"{url}/alerts", wait_until="domcontentloaded", timeout=60_000)
            page.get_by_text("FIRING").first.wait_for(timeout=60_000)
            page.get_by_text("Active silences").wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(tmp_path / "dashboard-alerts.png"), full_page=True)
        finally:
            browser.close()
    OUTPUT.mkdir(exist_ok=True)
    for name in ("dashboard-overview.png", "dashboard-alerts.png"):
        shutil.copy(tmp_path / name, OUTPUT / name)
    assert shot.stat().st_size > 10_000
    # The server process that rendered those pages has no ML library mapped in memory.
    maps = Path(f"/proc/{proc.pid}/maps")
    if maps.exists():
        loaded = [line for line in maps.read_text().splitlines()
                  if any(m in line for m in ML_LIBRARIES)]
        assert loaded == [], loaded[:5]


def test_a_page_url_does_not_bypass_the_login(tmp_path):
    """Opening /alerts directly still shows the login, not the alert (no legacy pages/)."""
    from playwright.sync_api import sync_playwright

    env_name = "FS_E2E_DASHBOARD_PASSWORD"
    with _serve(tmp_path, env={env_name: "open sesame"}, password_env=env_name,
                n_per_feed=5) as (url, _), sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            page.goto(f"{url}/alerts", wait_until="domcontentloaded", timeout=60_000)
            page.get_by_text("Password").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            assert page.get_by_text("FIRING").count() == 0
            page.get_by_label("Password", exact=True).fill("open sesame")
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
        finally:
            browser.close()
