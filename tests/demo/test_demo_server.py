"""The demo newswire over real HTTP on 127.0.0.1: feeds, ETag/Last-Modified, demo config."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest

from monitor.config import load_config
from monitor.demo.demo_config import write_demo_config
from monitor.demo.newswire import FEEDS
from monitor.demo.server import NewswireServer
from monitor.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_feeds_are_served_and_honour_etag_and_last_modified() -> None:
    clock = Clock(ANCHOR)
    with NewswireServer(seed=3, anchor=ANCHOR, clock=clock) as server:
        url = server.feed_urls()["Energy Desk"]
        first = httpx.get(url)
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("application/rss+xml")
        etag, last_modified = first.headers["etag"], first.headers["last-modified"]
        assert len(feedparser.parse(first.content).entries) > 100

        same = httpx.get(url, headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        assert same.headers["etag"] == etag
        ims = httpx.get(url, headers={"If-Modified-Since": last_modified})
        assert ims.status_code == 304
        stale = httpx.get(url, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200 and stale.content == first.content

        clock.now = ANCHOR + timedelta(minutes=20)  # burst stories arrive as time passes
        later = httpx.get(url, headers={"If-None-Match": etag})
        assert later.status_code == 200 and later.headers["etag"] != etag
        old_ids = {e.id for e in feedparser.parse(first.content).entries}
        new_ids = {e.id for e in feedparser.parse(later.content).entries}
        assert old_ids < new_ids

        assert httpx.get(f"{server.url}/feeds/nope.xml").status_code == 404
        index = httpx.get(f"{server.url}/")
        assert index.status_code == 200 and all(f.title in index.text for f in FEEDS)
        assert server.requests == 7


def test_demo_config_points_at_the_server_and_resolves_its_database(tmp_path: Path) -> None:
    with NewswireServer(anchor=ANCHOR, clock=Clock(ANCHOR)) as server:
        path = tmp_path / "demo" / "config.toml"
        write_demo_config(path, server.feed_urls())
        config = load_config(path, env={})
        assert config.fetch.allow_private_addresses is True
        assert [f.url for f in config.feeds] == list(server.feed_urls().values())
        assert config.database_url == f"sqlite:///{tmp_path / 'demo' / 'data'}/finsentinel-demo.db"
        write_demo_config(path, server.feed_urls())  # a demo file may be rewritten
    foreign = tmp_path / "config.toml"
    foreign.write_text("[database]\nurl = 'sqlite:///mine.db'\n")
    with pytest.raises(ConfigError, match="not written by demo-feeds"):
        write_demo_config(foreign, {"A": "http://127.0.0.1:1/a.xml"})
    assert tomllib.loads(foreign.read_text())["database"]["url"] == "sqlite:///mine.db"


def test_demo_feeds_command_serves_until_stopped(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "demo-feeds", "--port", "0",
         "--write-config", str(config_path)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        serving = next(line for line in lines if "serving at" in line)
        base = serving.split("serving at ")[1].split()[0].rstrip("/")
        config = load_config(config_path, env={})
        assert all(f.url.startswith(base) for f in config.feeds) and len(config.feeds) == 5
        response = httpx.get(config.feeds[0].url, timeout=10)
        assert response.status_code == 200 and b"<rss" in response.content
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_feeds_reports_a_busy_port_in_one_line(tmp_path: Path) -> None:
    with NewswireServer(anchor=ANCHOR) as server:
        port = server.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "demo-feeds", "--port", port],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
