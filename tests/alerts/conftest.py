"""Fixtures for the alert tests: a real JSON webhook receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.alerts.receiver import WebhookReceiver


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    """A webhook server recording every POSTed JSON body; Apprise URL: hook.url()."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
