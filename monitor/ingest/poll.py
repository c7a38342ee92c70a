"""Poll feeds: fetch + parse several at once in threads, store each feed in one transaction."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.errors import FetchError, FinSentinelError, ParseError
from monitor.ingest.fetch import Fetcher, HttpFetcher
from monitor.ingest.parse import parse_feed
from monitor.ingest.schedule import RandomSource, next_check_after_error, next_check_after_success
from monitor.store.articles import insert_entries
from monitor.store.feeds import (
    due_feeds,
    find_feed,
    get_feed,
    list_feeds,
    record_error,
    record_success,
)
from monitor.types import FeedState, FetchResult, ParsedFeed, PollOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Fetched:
    """What a worker thread hands back: a result to store, or the error that stopped it."""

    feed: FeedState
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: BaseException | None = None


def poll_feeds(engine: Engine, config: Config, now: datetime, *,
               feed_ids: Sequence[int] | None = None, only_due: bool = True,
               fetcher: Fetcher | None = None,
               rng: RandomSource | None = None) -> list[PollOutcome]:
    """Poll the due feeds (or feed_ids) once; one PollOutcome per feed, sorted by name.

    Fetch and parse run in up to scheduler.max_concurrent_fetches threads; every database
    write happens here, in the calling thread, one transaction per feed, so a crash stores all
    of a feed's new entries or none. A feed's failure becomes its stored error state and never
    raises; only a database that cannot be read at all does.
    """
    active, disabled = _select(engine, now, feed_ids, only_due)
    outcomes = [PollOutcome(f.id, f.name, "disabled", error=f.disabled_reason or "disabled")
                for f in disabled]
    if active:
        started = time.monotonic()
        polled = _poll(engine, config, now, active, fetcher, rng or random.Random())
        _log_summary(polled, time.monotonic() - started)
        outcomes.extend(polled)
    return sorted(outcomes, key=lambda o: (o.feed_name, o.feed_id))


def check_url(url: str, config: Config, now: datetime, *,
              fetcher: Fetcher | None = None) -> ParsedFeed:
    """Fetch and parse url, storing nothing (`feeds check`, the dashboard's preview).

    Raises FetchError or ParseError with a readable message.
    """
    own = fetcher is None
    fetcher = fetcher or HttpFetcher(config.fetch)
    try:
        result = fetcher.fetch(url)
        return _parse(result, config, now)
    finally:
        if own:
            fetcher.close()


def _select(engine: Engine, now: datetime, feed_ids: Sequence[int] | None,
            only_due: bool) -> tuple[list[FeedState], list[FeedState]]:
    """(feeds to poll, explicitly requested feeds that are disabled)."""
    with engine.connect() as conn:
        if feed_ids is None:
            if only_due:
                return due_feeds(conn, now), []
            return [f for f in list_feeds(conn) if f.enabled], []
        found = []
        for fid in dict.fromkeys(feed_ids):
            feed = get_feed(conn, fid)
            if feed is None:
                log.warning("feed id %s does not exist; skipped", fid)
            else:
                found.append(feed)
    active = [f for f in found if f.enabled and (
        not only_due or f.next_check_at is None or f.next_check_at <= now)]
    return active, [f for f in found if not f.enabled]


def _poll(engine: Engine, config: Config, now: datetime, feeds: list[FeedState],
          fetcher: Fetcher | None, rng: RandomSource) -> list[PollOutcome]:
    own = fetcher is None
    fetcher = fetcher or HttpFetcher(config.fetch)
    workers = min(config.scheduler.max_concurrent_fetches, len(feeds))
    outcomes: list[PollOutcome] = []
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch")
    try:
        pending: set[Future[_Fetched]] = {
            pool.submit(_fetch_and_parse, fetcher, feed, config, now) for feed in feeds}
        # Store each feed as soon as its fetch is done, while the others still download.
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                outcomes.append(_store(engine, config, now, future.result(), rng))
    finally:
        # On Ctrl-C (or a dead database) do not start the fetches still queued.
        pool.shutdown(wait=True, cancel_futures=True)
        if own:
            fetcher.close()
    return outcomes


def _fetch_and_parse(fetcher: Fetcher, feed: FeedState, config: Config,
                     now: datetime) -> _Fetched:
    """Worker thread: network and parsing only, never the database."""
    result = None
    try:
        result = fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if result.not_modified:
            return _Fetched(feed, result)  # 304: nothing to parse, nothing to store
        return _Fetched(feed, result, _parse(result, config, now))
    except (FetchError, ParseError) as err:
        return _Fetched(feed, result, error=err)
    except Exception as err:
        log.exception("unexpected error while fetching feed %r (%s)", feed.name, feed.url)
        return _Fetched(feed, result, error=err)


def _parse(result: FetchResult, config: Config, now: datetime) -> ParsedFeed:
    return parse_feed(result.body, url=result.url, headers=result.headers, fetched_at=now,
                      future_tolerance=timedelta(minutes=config.fetch.future_tolerance_minutes))


def _store(engine: Engine, config: Config, now: datetime, fetched: _Fetched,
           rng: RandomSource) -> PollOutcome:
    """Write one feed's outcome in one transaction; a failed write becomes its error state."""
    if fetched.error is not None:
        return _record_failure(engine, config, now, fetched.feed, fetched.error, rng)
    feed, result, parsed = fetched.feed, fetched.result, fetched.parsed
    if result is None:  # a worker without an error always has a result; be loud if not
        return _record_failure(engine, config, now, feed, RuntimeError("no fetch result"), rng)
    entries = parsed.entries if parsed else ()
    warning = parsed.warning if parsed else None
    try:
        with engine.begin() as conn:
            new = insert_entries(conn, feed.id, entries, now) if entries else 0
            moved_to, moved_warning = _moved_url(conn, feed, result)
            record_success(
                conn, feed.id, now=now, status=result.status, etag=result.etag,
                last_modified=result.last_modified, url=moved_to,
                warning=_join(warning, moved_warning),
                next_check_at=next_check_after_success(
                    now, feed.poll_minutes, jitter=config.fetch.jitter, rng=rng))
    except Exception as err:  # the database refused: nothing of this feed was stored
        log.exception("storing feed %r failed; its transaction was rolled back", feed.name)
        return _record_failure(engine, config, now, feed, err, rng)
    if moved_to:
        log.info("feed %r moved permanently to %s; stored URL updated", feed.name, moved_to)
    if new:
        log.info("feed %r: %d new of %d entries", feed.name, new, len(entries))
    if warning:
        log.warning("feed %r: %s", feed.name, warning)
    return PollOutcome(feed.id, feed.name, "new" if new else "unchanged", new_articles=new,
                       seen_entries=len(entries), http_status=result.status,
                       error=_join(warning, moved_warning))


def _moved_url(conn: Connection, feed: FeedState,
               result: FetchResult) -> tuple[str | None, str | None]:
    """The URL to store after a permanent redirect, or a warning when it cannot be taken."""
    target = result.permanent_redirect_to
    if not target or target == feed.url:
        return None, None
    other = find_feed(conn, target)
    if other is not None and other.id != feed.id:
        return None, (f"moved permanently to {target}, which is already the URL of feed "
                      f"{other.name!r}; URL left unchanged")
    return target, None


def _record_failure(engine: Engine, config: Config, now: datetime, feed: FeedState,
                    err: BaseException, rng: RandomSource) -> PollOutcome:
    status = getattr(err, "status", None) if isinstance(err, FetchError) else None
    permanent = isinstance(err, FetchError) and err.permanent
    if isinstance(err, FinSentinelError):
        message = str(err)
    else:
        message = f"unexpected error {type(err).__name__}: {err} (see the log for details)"
    fcfg = config.fetch
    next_at = next_check_after_error(
        now, feed.error_count + 1, base=fcfg.backoff_base_seconds, cap=fcfg.backoff_max_seconds,
        jitter=fcfg.jitter, rng=rng,
        retry_after=err.retry_after if isinstance(err, FetchError) else None)
    try:
        with engine.begin() as conn:
            record_error(conn, feed.id, now=now, next_check_at=next_at, error=message,
                         status=status, disable_reason=message if permanent else None)
    except Exception:
        log.exception("could not record the error of feed %r", feed.name)
    log.warning("feed %r: %s%s", feed.name, message,
                " (feed disabled)" if permanent else f"; next try at {next_at:%H:%M:%S} UTC")
    return PollOutcome(feed.id, feed.name, "disabled" if permanent else "error",
                       error=message, http_status=status)


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return "; ".join(kept) if kept else None


def _log_summary(outcomes: list[PollOutcome], seconds: float) -> None:
    failed = sum(o.status in ("error", "disabled") for o in outcomes)
    new = sum(o.new_articles for o in outcomes)
    log.info("polled %d feeds in %.1f s: %d new articles, %d failed",
             len(outcomes), seconds, new, failed)
    if outcomes and failed == len(outcomes):
        log.warning("every feed failed in this poll (%d of %d): is this machine offline? "
                    "Run `make demo` to watch FinSentinel work on its local demo newswire",
                    failed, len(outcomes))
