"""Fixtures for the ingestion tests: a real HTTP server on 127.0.0.1 per test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from feed_server import FeedServer, serving


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with serving(FeedServer()) as server:
        yield server


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"
