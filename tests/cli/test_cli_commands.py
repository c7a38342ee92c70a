"""The `finsentinel` commands in-process (CliRunner) on real SQLite files and a real newswire."""

from __future__ import annotations

import json
import socket
import tomllib
from pathlib import Path

import pytest
from cli_helpers import db_rows, invoke, write_config

from monitor.cli import COMMANDS
from monitor.demo.newswire import FEEDS, generate_items
from monitor.demo.server import NewswireServer


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_help_lists_every_registered_command() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize(("body", "key"), [
    ("[scheduler]\ntick_seconds = 'fast'\n", "scheduler.tick_seconds"),
    ("[fetch]\nconect_timeout = 3\n", "fetch.conect_timeout: unknown key"),
    ("[[feeds]]\nname = 'A'\n", "feeds.0.url"),
    ("[database\n", "not valid TOML"),
])
def test_config_errors_name_the_key_in_one_line(tmp_path: Path, body: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body)
    line = _one_error_line(invoke(["--config", str(path), "poll"]))
    assert key in line and str(path) in line


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    line = _one_error_line(invoke(["--config", str(tmp_path / "nope.toml"), "feeds", "list"]))
    assert "nope.toml not found" in line and "--config" in line


def test_config_path_can_come_from_the_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path / "conf" / "config.toml", {"A": "http://127.0.0.1:1/a.xml"})
    result = invoke(["feeds", "list"], env={"FINSENTINEL_CONFIG": str(path)})
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:1/a.xml" in result.output


def test_config_command_redacts_the_database_password(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml")
    env = {"FINSENTINEL_DATABASE_URL": "postgresql://monitor:hunter2@127.0.0.1:5432/fs"}
    result = invoke(["--config", str(path), "config"], env=env)
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "overridden by environment variable FINSENTINEL_DATABASE_URL" in result.output
    data = tomllib.loads(result.output)
    assert data["database"]["url"] == "postgresql://monitor:***@127.0.0.1:5432/fs"
    assert data["fetch"]["allow_private_addresses"] is True
    as_json = invoke(["--config", str(path), "config", "--format", "json"], env=env)
    assert json.loads(as_json.output)["database"]["url"].endswith("monitor:***@127.0.0.1:5432/fs")
    assert "hunter2" not in as_json.output


def test_config_toml_output_round_trips_every_section(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", {"A": "http://127.0.0.1:1/a.xml"},
                        extra='[[alerts.channels]]\nname = "ops"\nurl_env = "OPS_URL"\n')
    result = invoke(["--config", str(path), "config"])
    data = tomllib.loads(result.output)
    assert data["feeds"][0]["name"] == "A"
    [channel] = data["alerts"]["channels"]
    assert (channel["name"], channel["url_env"]) == ("ops", "OPS_URL")
    assert data["database"]["url"] == f"sqlite:///{tmp_path / 'finsentinel.db'}"


def test_relative_database_path_resolves_against_the_config_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path / "site" / "config.toml", database="sqlite:///data/fs.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke(["--config", str(path), "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "is at revision" in result.output
    assert (tmp_path / "site" / "data" / "fs.db").is_file()
    assert not (elsewhere / "data").exists()


def test_feeds_add_list_disable_enable_remove(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", {"Configured": "http://127.0.0.1:1/c.xml"})
    cfg = ["--config", str(path)]
    added = invoke([*cfg, "feeds", "add", "Mine", "http://127.0.0.1:1/m.xml",
                    "--poll-minutes", "5", "--tag", "x", "--tag", "y"])
    assert added.exit_code == 0, added.output
    assert db_rows(tmp_path / "finsentinel.db",
                   "select name, poll_minutes, tags, from_config from feeds order by name") == [
        ("Configured", 15.0, "[]", 1), ("Mine", 5.0, '["x", "y"]', 0)]
    listed = invoke([*cfg, "feeds", "list"])
    assert listed.exit_code == 0
    assert "Mine" in listed.output and "cli" in listed.output and "config" in listed.output

    assert "already exists" in _one_error_line(
        invoke([*cfg, "feeds", "add", "Mine", "http://127.0.0.1:1/other.xml"]))
    assert "already exists" in _one_error_line(
        invoke([*cfg, "feeds", "add", "Other", "http://127.0.0.1:1/m.xml"]))
    assert "not an http(s)://" in _one_error_line(invoke([*cfg, "feeds", "add", "B", "ftp://x"]))

    assert invoke([*cfg, "feeds", "disable", "Mine"]).exit_code == 0
    assert db_rows(tmp_path / "finsentinel.db",
                   "select enabled, disabled_reason from feeds where name = 'Mine'") == [
        (0, "disabled from the command line")]
    assert invoke([*cfg, "feeds", "enable", "http://127.0.0.1:1/m.xml"]).exit_code == 0
    assert db_rows(tmp_path / "finsentinel.db",
                   "select enabled from feeds where name = 'Mine'") == [(1,)]

    assert "defined in the config file" in _one_error_line(
        invoke([*cfg, "feeds", "remove", "Configured", "--yes"]))
    declined = invoke([*cfg, "feeds", "remove", "Mine"], input="n\n")
    assert declined.exit_code == 1
    assert len(db_rows(tmp_path / "finsentinel.db", "select id from feeds")) == 2
    removed = invoke([*cfg, "feeds", "remove", "Mine"], input="y\n")
    assert removed.exit_code == 0, removed.output
    assert db_rows(tmp_path / "finsentinel.db", "select name from feeds") == [("Configured",)]
    assert "no feed named" in _one_error_line(invoke([*cfg, "feeds", "remove", "Mine"]))


def test_feeds_check_prints_entries_and_stores_nothing(
        tmp_path: Path, newswire: NewswireServer) -> None:
    path = write_config(tmp_path / "config.toml")
    url = newswire.feed_urls()["Central Banks"]
    result = invoke(["--config", str(path), "feeds", "check", url])
    assert result.exit_code == 0, result.output
    expected = generate_items(FEEDS[3], seed=newswire.seed, anchor=newswire.anchor,
                              now=newswire.clock())
    assert f"{len(expected)} entries would be stored" in result.output
    # Titles are cut to 80 characters in the table (an ellipsis marks the cut); which
    # titles the generator picks depends on the clock, so compare the part always shown.
    assert expected[0].title[:79] in result.output and expected[-1].guid in result.output
    assert not (tmp_path / "finsentinel.db").exists()  # not even a database was created

    limited = invoke(["--config", str(path), "feeds", "check", url, "--limit", "2"])
    assert f"... and {len(expected) - 2} more" in limited.output
    refused = write_config(tmp_path / "strict" / "config.toml", extra="")
    refused.write_text(refused.read_text().replace("allow_private_addresses = true", ""))
    line = _one_error_line(invoke(["--config", str(refused), "feeds", "check", url]))
    assert "127.0.0.1" in line or "private" in line


def test_poll_prints_a_table_and_stores_every_article(
        tmp_path: Path, newswire: NewswireServer) -> None:
    path = write_config(tmp_path / "config.toml", newswire.feed_urls())
    first = invoke(["--config", str(path), "poll"])
    assert first.exit_code == 0, first.output
    expected = {f.title: len(generate_items(f, seed=newswire.seed, anchor=newswire.anchor,
                                            now=newswire.clock())) for f in FEEDS}
    for name, n in expected.items():
        assert any(line.split()[-2:] == ["new", str(n)] and line.startswith(name)
                   for line in first.output.splitlines()), (name, first.output)
    assert f"{sum(expected.values())} new article(s), 0 error(s)" in first.output
    stored = db_rows(tmp_path / "finsentinel.db",
                     "select f.name, count(*) from articles a join feeds f on f.id = a.feed_id "
                     "group by f.name")
    assert dict(stored) == expected

    again = invoke(["--config", str(path), "poll"])
    assert again.exit_code == 0
    assert again.output.count("unchanged") == len(FEEDS)
    assert db_rows(tmp_path / "finsentinel.db", "select count(*) from articles") == [
        (sum(expected.values()),)]


def test_poll_fails_when_every_feed_fails_and_points_to_the_demo(tmp_path: Path) -> None:
    port = _closed_port()
    path = write_config(tmp_path / "config.toml", {"Down": f"http://127.0.0.1:{port}/a.xml",
                                                   "Also down": f"http://127.0.0.1:{port}/b"})
    result = invoke(["--config", str(path), "poll"])
    assert result.exit_code == 1
    assert result.output.count("error") >= 2
    assert "every feed failed (2)" in result.stderr and "make demo" in result.stderr
    assert "Traceback" not in result.output


def test_poll_succeeds_when_some_feeds_fail(tmp_path: Path, newswire: NewswireServer) -> None:
    feeds = {"Good": newswire.feed_urls()["Energy Desk"],
             "Down": f"http://127.0.0.1:{_closed_port()}/a.xml"}
    result = invoke(["--config", str(write_config(tmp_path / "config.toml", feeds)), "poll"])
    assert result.exit_code == 0, result.output
    assert "1 error(s)" in result.output


def test_poll_without_feeds_says_how_to_add_one(tmp_path: Path) -> None:
    result = invoke(["--config", str(write_config(tmp_path / "config.toml")), "poll"])
    assert result.exit_code == 0
    assert "finsentinel feeds add" in result.output
