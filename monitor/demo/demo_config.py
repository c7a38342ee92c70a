"""Write a config.toml that points FinSentinel at a running demo newswire."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from monitor.errors import ConfigError

MARKER = "# FinSentinel demo configuration, written by `finsentinel demo-feeds --write-config`."


def demo_config_text(feed_urls: Mapping[str, str], *, poll_minutes: float = 1.0,
                     database: str = "data/finsentinel-demo.db",
                     alerts_url: str = "json://127.0.0.1:8766/alerts") -> str:
    """TOML for the demo: private addresses allowed, DB relative to the file's folder."""
    lines = [
        MARKER,
        "# Relative paths resolve against this file's folder.",
        "",
        "[database]",
        f"url = {json.dumps('sqlite:///' + database)}",
        "",
        "[scheduler]",
        "tick_seconds = 15.0",
        "",
        "[fetch]",
        "# The demo newswire listens on 127.0.0.1, which is refused unless allowed here.",
        "allow_private_addresses = true",
        "",
        "[alerts]",
        "# `make demo` runs `finsentinel alerts receive --port 8766`, a local webhook receiver",
        "# that prints each alert and appends it to data/demo/alerts.jsonl.",
        "[[alerts.channels]]",
        'name = "demo-webhook"',
        f"url = {json.dumps(alerts_url)}",
    ]
    for name, url in feed_urls.items():
        lines += ["", "[[feeds]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}",
                  f"poll_minutes = {poll_minutes!r}", 'tags = ["demo"]']
    return "\n".join(lines) + "\n"


def write_demo_config(path: Path, feed_urls: Mapping[str, str], **kwargs: object) -> None:
    """Write the demo config; an existing file is replaced only if a demo wrote it."""
    if path.exists():
        head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        if head != [MARKER]:
            raise ConfigError(f"{path} exists and was not written by demo-feeds; "
                              "choose another --write-config path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(demo_config_text(feed_urls, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    tmp.replace(path)
