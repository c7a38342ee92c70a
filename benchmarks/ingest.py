"""Ingestion benchmark: N generated feeds of M entries served on 127.0.0.1, polled into SQLite.

Prints seconds and articles/s for the first poll, for an unchanged re-poll with conditional
GET (all 304s), and, side by side, the baseline re-poll without conditional GET (the server
ignores the validators: full download + parse + dedup), with the ratios.

Target (2 cores): 200 feeds x 50 entries stored in under 30 s; the unchanged re-poll at least
5x faster than the first poll.

    python benchmarks/ingest.py [--feeds 200] [--entries 50] [--workers 8]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import Config, config_from_dict  # noqa: E402
from monitor.ingest.poll import poll_feeds  # noqa: E402
from monitor.store.articles import count_articles  # noqa: E402
from monitor.store.engine import open_store  # noqa: E402
from monitor.store.feeds import sync_config_feeds  # noqa: E402

NOW = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
WORDS = ("shares rally as bank beats estimates while oil slips and bond yields climb after "
         "central bank signals caution on inflation outlook amid merger talk").split()
Poll = tuple[float, int]  # (seconds, new articles)


def make_feed(feed: int, entries: int) -> bytes:
    """A realistic RSS 2.0 document with unique, dated entries."""
    items = []
    for n in range(entries):
        words = [WORDS[(feed * 7 + n * 3 + k) % len(WORDS)] for k in range(12)]
        title = f"Feed {feed} story {n}: " + " ".join(words[:8])
        summary = f"<p>{' '.join(words).capitalize()}. Story {n} of feed {feed}.</p>" * 3
        when = (NOW - timedelta(minutes=5 * n + feed)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        items.append(f"<item><title>{escape(title)}</title>"
                     f"<link>https://news.example.com/{feed}/{n}</link>"
                     f"<guid isPermaLink=\"false\">bench-{feed}-{n}</guid>"
                     f"<pubDate>{when}</pubDate>"
                     f"<description>{escape(summary)}</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bench feed {feed}</title><link>https://news.example.com/{feed}</link>"
            f"{''.join(items)}</channel></rss>").encode()


class BenchServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, docs: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.docs = docs
        self.etags = {p: '"' + hashlib.sha1(b).hexdigest()[:16] + '"' for p, b in docs.items()}
        self.conditional = True  # False: ignore If-None-Match (the baseline)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BenchServer

    def do_GET(self) -> None:  # noqa: N802
        body = self.server.docs.get(self.path)
        if body is None:
            self.send_error(404)
            return
        etag = self.server.etags[self.path]
        if self.server.conditional and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--workers", type=int, default=8, help="scheduler.max_concurrent_fetches")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    docs = {f"/feed/{i}.xml": make_feed(i, args.entries) for i in range(args.feeds)}
    server = BenchServer(docs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    polls, total = _poll_three_times(server, args.feeds, args.workers)
    server.shutdown()
    _report(args, sum(map(len, docs.values())) / 1e6, polls, total)


def _poll_three_times(server: BenchServer, feeds: int,
                      workers: int) -> tuple[tuple[Poll, Poll, Poll], int]:
    """(first poll, unchanged re-poll with conditional GET, the same without), articles
    stored: all feeds polled into a fresh SQLite database."""
    port = server.server_address[1]
    with tempfile.TemporaryDirectory(prefix="fs-bench-") as tmp:
        config = config_from_dict({
            "database": {"url": f"sqlite:///{Path(tmp) / 'bench.db'}"},
            "fetch": {"allow_private_addresses": True},
            "scheduler": {"max_concurrent_fetches": workers},
            "feeds": [{"name": f"bench-{i}", "url": f"http://127.0.0.1:{port}/feed/{i}.xml"}
                      for i in range(feeds)],
        }, base_dir=Path(tmp), env={})
        engine = open_store(config.database_url)
        with engine.begin() as conn:
            sync_config_feeds(conn, [f.spec() for f in config.feeds], NOW)
        first = _timed_poll(engine, config, "first poll", NOW)
        cond = _timed_poll(engine, config, "re-poll (304)", NOW + timedelta(hours=1))
        server.conditional = False
        base = _timed_poll(engine, config, "re-poll (no conditional GET)",
                           NOW + timedelta(hours=2))
        with engine.connect() as conn:
            total = count_articles(conn)
        engine.dispose()
    return (first, cond, base), total


def _timed_poll(engine: Engine, config: Config, label: str, now: datetime) -> Poll:
    """Poll every feed once; SystemExit naming the first error if any feed failed."""
    started = time.perf_counter()
    outcomes = poll_feeds(engine, config, now, only_due=False)
    seconds = time.perf_counter() - started
    errors = [o for o in outcomes if o.status == "error"]
    if errors:
        raise SystemExit(f"{label}: {len(errors)} feeds failed, e.g. {errors[0].error}")
    return seconds, sum(o.new_articles for o in outcomes)


def _report(args: argparse.Namespace, size_mb: float, polls: tuple[Poll, Poll, Poll],
            total: int) -> None:
    (first_s, stored), (cond_s, cond_new), (base_s, base_new) = polls
    expected = args.feeds * args.entries
    print(f"ingest benchmark: {args.feeds} feeds x {args.entries} entries "
          f"({size_mb:.1f} MB of RSS), {args.workers} fetch workers, SQLite")
    print(f"{'poll':<44}{'seconds':>9}{'new':>8}{'entries/s':>12}")
    for label, secs, new in (("first poll (full download, parse, store)", first_s, stored),
                             ("unchanged re-poll, conditional GET (304)", cond_s, cond_new),
                             ("baseline: unchanged re-poll, no cond. GET", base_s, base_new)):
        print(f"{label:<44}{secs:>9.2f}{new:>8}{expected / secs:>12.0f}")
    print(f"stored {total} of {expected} articles; first poll {stored / first_s:.0f} articles/s "
          f"(target: under 30 s -> {'OK' if first_s < 30 and total == expected else 'MISSED'})")
    print(f"re-poll speed-up vs first poll: {first_s / cond_s:.1f}x with conditional GET "
          f"(target >= 5x -> {'OK' if first_s / cond_s >= 5 else 'MISSED'}), "
          f"{first_s / base_s:.1f}x without (baseline); conditional GET is "
          f"{base_s / cond_s:.1f}x faster than the baseline re-poll")


if __name__ == "__main__":
    main()
