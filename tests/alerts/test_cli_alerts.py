"""`finsentinel alerts ...` through the real CLI, store and channels."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.commands.alerts import parse_duration
from monitor.config import load_config
from monitor.errors import AlertError
from monitor.store import alerts as store
from monitor.store.engine import open_store
from monitor.types import Alert
from tests.alerts.helpers import background, bulk_articles


def write_config(tmp_path: Path, channels: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text("\n".join([
        "[database]", 'url = "sqlite:///fs.db"', "", "[alerts]",
        'dashboard_url = "http://dash.example/"', channels]) + "\n", encoding="utf-8")
    return path


def run(config: Path, *args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts", *args],
                                env={"FINSENTINEL_CONFIG": None, **(env or {})})
    return result


def seed_alert(config: Path) -> int:
    engine = open_store(load_config(config).database_url)
    now = datetime.now(UTC)
    a = Alert("topics", "topic", "Energy | Oil", 6.2, 30, 14.0, 2.1, now - timedelta(minutes=30),
              now, evidence={"p_value": 6e-7, "headlines": [
                  {"title": "Oil slumps", "link": "http://127.0.0.1/a/1", "p_negative": 0.97}]})
    with engine.begin() as conn:
        summary = "Energy | Oil: 14 negative articles in 30 min, 2.1 expected"
        aid = store.insert_alert(conn, a, state="firing", now=now, summary=summary)
        store.queue_deliveries(conn, aid, ["hook"], "firing", now)
    engine.dispose()
    return aid


def test_list_show_ack(tmp_path):
    config = write_config(tmp_path)
    empty = run(config, "list")
    assert empty.exit_code == 0 and "no open alerts" in empty.output
    aid = seed_alert(config)
    listed = run(config, "list")
    assert listed.exit_code == 0, listed.output
    assert "Energy | Oil: 14 negative articles in 30 min" in listed.output
    assert "firing" in listed.output and "hook (firing): pending" in listed.output
    shown = run(config, "show", str(aid))
    assert shown.exit_code == 0
    assert "Oil slumps (p_negative 0.97) http://127.0.0.1/a/1" in shown.output
    assert '"p_value": 6e-07' in shown.output
    acked = run(config, "ack", str(aid), "--by", "ana")
    assert acked.exit_code == 0 and f"alert {aid} acknowledged" in acked.output
    assert "firing (acked)" in run(config, "list").output
    missing = run(config, "ack", "999")
    assert missing.exit_code == 1 and "no alert with id 999" in missing.output


def test_silence_and_silences(tmp_path):
    config = write_config(tmp_path)
    out = run(config, "silence", "topic", "Energy | Oil", "--for", "2h", "--reason", "known")
    assert out.exit_code == 0 and "topic 'Energy | Oil' until" in out.output
    listed = run(config, "silences")
    assert "Energy | Oil" in listed.output and "known" in listed.output
    bad = run(config, "silence", "feed", "wire", "--for", "soon")
    assert bad.exit_code == 1 and "duration 'soon' not understood" in bad.output


def test_parse_duration():
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    for bad in ("", "2", "h", "2x", "-1h"):
        with pytest.raises(AlertError):
            parse_duration(bad)


def test_test_command_sends_to_the_configured_channel(tmp_path, hook):
    channels = "\n".join([
        "[[alerts.channels]]", 'name = "hook"', 'url_env = "FS_TEST_HOOK_URL"', "",
        "[[alerts.channels]]", 'name = "unset"', 'url_env = "FS_TEST_UNSET_URL"'])
    config = write_config(tmp_path, channels)
    env = {"FS_TEST_HOOK_URL": hook.url(), "FS_TEST_UNSET_URL": None}
    ok = run(config, "test", "--channel", "hook", env=env)
    assert ok.exit_code == 0, ok.output
    assert "hook: sent" in ok.output
    (body,) = hook.bodies
    assert body["title"] == "FinSentinel test notification"
    assert "Dashboard: http://dash.example/" in body["message"]
    both = run(config, "test", env=env)
    assert both.exit_code == 1
    assert "unset: FAILED" in both.output and "FS_TEST_UNSET_URL is not set" in both.output
    unknown = run(config, "test", "--channel", "nope", env=env)
    assert unknown.exit_code == 1 and "unknown channel 'nope'" in unknown.output


def test_run_detects_and_delivers(tmp_path, hook):
    config = write_config(tmp_path, "\n".join([
        "[[alerts.channels]]", 'name = "hook"', f'url = "{hook.url()}"']))
    engine = open_store(load_config(config).database_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        bulk_articles(conn, "wire", "Energy | Oil", now, background(now, 2))
        bulk_articles(conn, "wire", "Energy | Oil", now, [
            (now - timedelta(minutes=10, seconds=20 * k), "negative", 0.95) for k in range(15)],
            prefix="burst ")
    engine.dispose()
    out = run(config, "run")
    assert out.exit_code == 0, out.output
    assert "3 fired" in out.output and "3 delivery(ies) sent" in out.output
    assert len(hook.bodies) == 1
    assert json.dumps(hook.bodies[0]).count("negative articles in 30 min") == 3
