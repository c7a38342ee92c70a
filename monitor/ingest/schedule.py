"""Pure scheduling decisions: when to check a feed next after a success or an error."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Protocol

# A hostile or buggy Retry-After must not park a feed for months; beyond this it is ignored
# down to this ceiling, so the feed is still retried and its state stays visible.
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600.0


class RandomSource(Protocol):
    """What jitter needs from a random generator (random.Random fits; tests pass a seeded one)."""

    def uniform(self, a: float, b: float) -> float: ...


def jittered(seconds: float, jitter: float, rng: RandomSource) -> float:
    """seconds spread by ±jitter (a fraction), so feeds added together do not poll in lockstep."""
    if jitter <= 0:
        return seconds
    return max(0.0, seconds * (1.0 + rng.uniform(-jitter, jitter)))


def backoff_seconds(error_count: int, *, base: float, cap: float) -> float:
    """Exponential backoff for the n-th consecutive error: base * 2^(n-1), at most cap."""
    if error_count < 1:
        raise ValueError(f"error_count must be >= 1 for a backoff, got {error_count}")
    # Compare exponents before computing to avoid overflow after thousands of errors.
    if error_count - 1 >= 64 or base * 2.0 ** (error_count - 1) >= cap:
        return cap
    return base * 2.0 ** (error_count - 1)


def next_check_after_success(now: datetime, poll_minutes: float, *, jitter: float,
                             rng: RandomSource | None = None) -> datetime:
    """The feed worked: come back after its poll interval, ± jitter."""
    rng = rng or random.Random()
    return now + timedelta(seconds=jittered(poll_minutes * 60.0, jitter, rng))


def next_check_after_error(now: datetime, error_count: int, *, base: float, cap: float,
                           jitter: float, retry_after: float | None = None,
                           rng: RandomSource | None = None) -> datetime:
    """The feed failed for the error_count-th time in a row: back off, never give up.

    The delay grows exponentially up to cap, spread by jitter. A server's Retry-After wins
    when it asks for longer than our own backoff (being polite beats being fast).
    """
    rng = rng or random.Random()
    delay = jittered(backoff_seconds(error_count, base=base, cap=cap), jitter, rng)
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, MAX_RETRY_AFTER_SECONDS)
    return now + timedelta(seconds=delay)
