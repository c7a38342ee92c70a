"""Pure scheduling decisions: backoff growth and ceiling, jitter bounds, Retry-After."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from monitor.ingest.schedule import (
    MAX_RETRY_AFTER_SECONDS,
    backoff_seconds,
    next_check_after_error,
    next_check_after_success,
)
from tests.conftest import NOW


def test_backoff_doubles_from_base_up_to_the_ceiling() -> None:
    delays = [backoff_seconds(n, base=60, cap=3600) for n in range(1, 10)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_backoff_after_thousands_of_errors_stays_at_the_ceiling() -> None:
    assert backoff_seconds(100_000, base=60, cap=21600) == 21600


def test_backoff_needs_at_least_one_error() -> None:
    with pytest.raises(ValueError, match="error_count"):
        backoff_seconds(0, base=60, cap=3600)


def test_error_schedule_without_jitter_is_exact() -> None:
    got = [next_check_after_error(NOW, n, base=60, cap=600, jitter=0) - NOW for n in (1, 2, 5)]
    assert got == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=600)]


def test_jitter_stays_within_its_fraction_and_spreads_feeds() -> None:
    rng = random.Random(7)
    delays = [(next_check_after_success(NOW, 15, jitter=0.1, rng=rng) - NOW).total_seconds()
              for _ in range(500)]
    assert all(810 <= d <= 990 for d in delays)
    assert max(delays) - min(delays) > 100  # jitter really spreads the checks


def test_error_jitter_is_bounded_around_the_backoff() -> None:
    rng = random.Random(3)
    for n in range(1, 12):
        delay = (next_check_after_error(NOW, n, base=60, cap=3600, jitter=0.2, rng=rng)
                 - NOW).total_seconds()
        expected = min(60 * 2 ** (n - 1), 3600)
        assert 0.8 * expected <= delay <= 1.2 * expected


def test_same_seed_same_schedule() -> None:
    a = next_check_after_error(NOW, 3, base=60, cap=3600, jitter=0.5, rng=random.Random(1))
    b = next_check_after_error(NOW, 3, base=60, cap=3600, jitter=0.5, rng=random.Random(1))
    assert a == b


def test_success_without_jitter_is_the_poll_interval() -> None:
    assert next_check_after_success(NOW, 15, jitter=0) == NOW + timedelta(minutes=15)


def test_longer_retry_after_overrides_backoff() -> None:
    at = next_check_after_error(NOW, 1, base=60, cap=3600, jitter=0, retry_after=7200)
    assert at == NOW + timedelta(seconds=7200)


def test_shorter_retry_after_does_not_shorten_backoff() -> None:
    at = next_check_after_error(NOW, 4, base=60, cap=3600, jitter=0, retry_after=5)
    assert at == NOW + timedelta(seconds=480)


def test_absurd_retry_after_is_capped_so_the_feed_is_not_parked_for_months() -> None:
    at = next_check_after_error(NOW, 1, base=60, cap=3600, jitter=0, retry_after=10**9)
    assert at == NOW + timedelta(seconds=MAX_RETRY_AFTER_SECONDS)
