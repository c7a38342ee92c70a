"""Ingestion: fetch feeds over HTTP, parse them with feedparser, schedule and store the result."""
