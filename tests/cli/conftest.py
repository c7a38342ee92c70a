"""Fixtures for the CLI tests: a demo newswire on 127.0.0.1 and config files in tmp dirs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.demo.server import NewswireServer


@pytest.fixture
def newswire() -> Iterator[NewswireServer]:
    """The demo newswire with a frozen clock (every poll sees the same documents)."""
    frozen = datetime.now(UTC).replace(microsecond=0)
    with NewswireServer(seed=5, anchor=frozen, clock=lambda: frozen) as server:
        yield server
