"""FinSentinel monitor: the engine (ingest, store, scoring, alerts) and the shared kernel."""

__version__ = "0.1.0"
