"""One error hierarchy for the whole project; the CLI turns these into one-line messages."""

from __future__ import annotations


class FinSentinelError(Exception):
    """Base of every expected, user-facing error. Its message is shown as is."""


class ConfigError(FinSentinelError):
    """The configuration file or environment is invalid; the message names the key."""


class FetchError(FinSentinelError):
    """A feed could not be fetched (network, HTTP status, size cap, refused address)."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        # permanent: the feed should be disabled (e.g. 410 Gone), not retried.
        self.permanent = permanent


class ParseError(FinSentinelError):
    """A fetched document is not a usable feed."""


class StoreError(FinSentinelError):
    """The database is unreachable, not migrated, or refused an operation."""


class ModelError(FinSentinelError):
    """A model version is missing, corrupt, fails its hash, or cannot be loaded."""


class DataError(FinSentinelError):
    """Labelled training/evaluation data is invalid; the message names file, line and value."""


class AlertError(FinSentinelError):
    """An alert operation was refused (unknown alert, bad silence, delivery misconfigured)."""
