"""CLI commands for feeds and polling: `finsentinel poll` and `finsentinel feeds ...`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import click

from monitor.cli import App, pass_app
from monitor.commands import fmt_time, format_table, shorten
from monitor.errors import ConfigError
from monitor.types import FeedSpec, PollOutcome

log = logging.getLogger(__name__)

OFFLINE_HINT = ("if this machine is offline, watch FinSentinel work on the offline demo "
                "newswire instead: `make demo`")


@dataclass(frozen=True)
class PollSummary:
    """Totals of one poll, for the CLI and the scheduler's log line."""

    polled: int
    new_articles: int
    errors: int

    @property
    def all_failed(self) -> bool:
        return self.polled > 0 and self.errors == self.polled

    def line(self) -> str:
        return (f"polled {self.polled} feed(s): {self.new_articles} new article(s), "
                f"{self.errors} error(s)")


def summarize(outcomes: Sequence[PollOutcome]) -> PollSummary:
    return PollSummary(polled=len(outcomes),
                       new_articles=sum(o.new_articles for o in outcomes),
                       errors=sum(1 for o in outcomes if o.status in ("error", "disabled")))


def sync_feeds(app: App) -> None:
    """Bring the feeds table in line with config.toml's [[feeds]] (in one transaction)."""
    from monitor.store.feeds import sync_config_feeds

    with app.engine.begin() as conn:
        sync_config_feeds(conn, [f.spec() for f in app.config.feeds], app.now())


@click.command()
@pass_app
def poll(app: App) -> None:
    """Poll every enabled feed once now and print a summary per feed."""
    from monitor.ingest.poll import poll_feeds

    if app.verbosity == 0:  # the table below reports each feed; keep stderr for real trouble
        logging.getLogger("monitor.ingest").setLevel(logging.ERROR)
    sync_feeds(app)
    outcomes = poll_feeds(app.engine, app.config, app.now(), only_due=False)
    if not outcomes:
        click.echo("no enabled feeds: add [[feeds]] to the config or run "
                   "`finsentinel feeds add NAME URL`")
        return
    rows = [(o.feed_name, o.status, o.new_articles, shorten(o.error, 70))
            for o in sorted(outcomes, key=lambda o: o.feed_name.lower())]
    click.echo(format_table(("feed", "status", "new", "error"), rows))
    summary = summarize(outcomes)
    click.echo(summary.line())
    if summary.all_failed:
        click.echo(f"error: every feed failed ({summary.polled}); {OFFLINE_HINT}", err=True)
        raise click.exceptions.Exit(1)


@click.group()
def feeds() -> None:
    """List, add, remove, enable, disable and check feeds."""


@feeds.command("list")
@pass_app
def list_cmd(app: App) -> None:
    """Show every feed with its polling state."""
    from monitor.store.feeds import feed_article_counts, list_feeds

    sync_feeds(app)
    with app.engine.connect() as conn:
        states = list_feeds(conn)
        counts = feed_article_counts(conn)
    if not states:
        click.echo("no feeds yet: add [[feeds]] to the config or run "
                   "`finsentinel feeds add NAME URL`")
        return
    config_names = {f.name for f in app.config.feeds}
    rows = [(s.name, "yes" if s.enabled else "no", "config" if s.name in config_names else "cli",
             counts.get(s.id, 0), fmt_time(s.last_success_at), s.error_count,
             shorten(s.disabled_reason or s.last_error, 40), s.url) for s in states]
    click.echo(format_table(("name", "enabled", "source", "articles", "last success",
                             "errors", "last error", "url"), rows))


def _check_url_form(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file"
                                                         and not parts.netloc):
        raise ConfigError(f"feed url {url!r} is not an http(s):// or file:// URL")


@feeds.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--poll-minutes", type=click.FloatRange(min=0, min_open=True), default=15.0,
              show_default=True, help="How often to poll this feed.")
@click.option("--tag", "tags", multiple=True, help="A tag for the feed (repeatable).")
@pass_app
def add_cmd(app: App, name: str, url: str, poll_minutes: float, tags: tuple[str, ...]) -> None:
    """Add a feed NAME at URL (stored in the database, not in config.toml)."""
    from monitor.store.feeds import add_feed, find_feed

    _check_url_form(url)
    sync_feeds(app)
    with app.engine.begin() as conn:
        for key in (name, url):
            existing = find_feed(conn, key)
            if existing is not None:
                raise ConfigError(f"a feed {existing.name!r} with URL {existing.url} already "
                                  f"exists; choose another name or URL")
        add_feed(conn, FeedSpec(name, url, poll_minutes, True, tuple(tags)), app.now())
    click.echo(f"added feed {name!r} ({url}); it is polled on the next tick "
               "or by `finsentinel poll`")


def _find(app: App, name_or_url: str) -> int:
    from monitor.store.feeds import find_feed

    with app.engine.connect() as conn:
        state = find_feed(conn, name_or_url)
    if state is None:
        raise ConfigError(f"no feed named or with URL {name_or_url!r}; "
                          "see `finsentinel feeds list`")
    return state.id


@feeds.command("remove")
@click.argument("name_or_url")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def remove_cmd(app: App, name_or_url: str, yes: bool) -> None:
    """Remove a feed added from the command line, with its articles."""
    from monitor.store.feeds import feed_article_counts, find_feed, remove_feed

    with app.engine.connect() as conn:
        state = find_feed(conn, name_or_url)
    if state is None:
        raise ConfigError(f"no feed named or with URL {name_or_url!r}; "
                          "see `finsentinel feeds list`")
    if state.name in {f.name for f in app.config.feeds}:
        raise ConfigError(f"feed {state.name!r} is defined in the config file; remove it "
                          "there (or set enabled = false) instead")
    with app.engine.connect() as conn:
        n = feed_article_counts(conn, [state.id]).get(state.id, 0)
    if not yes:
        click.confirm(f"remove feed {state.name!r} and its {n} stored article(s)?", abort=True)
    with app.engine.begin() as conn:
        remove_feed(conn, state.name)
    click.echo(f"removed feed {state.name!r} and {n} article(s)")


def _set_enabled(app: App, name_or_url: str, enabled: bool) -> None:
    from monitor.store.feeds import set_enabled

    feed_id = _find(app, name_or_url)
    with app.engine.begin() as conn:
        set_enabled(conn, feed_id, enabled, app.now(),
                    reason=None if enabled else "disabled from the command line")
    click.echo(f"{'enabled' if enabled else 'disabled'} feed {name_or_url!r}")


@feeds.command("enable")
@click.argument("name_or_url")
@pass_app
def enable_cmd(app: App, name_or_url: str) -> None:
    """Enable a feed (clears its error count; polled on the next tick)."""
    sync_feeds(app)
    _set_enabled(app, name_or_url, True)


@feeds.command("disable")
@click.argument("name_or_url")
@pass_app
def disable_cmd(app: App, name_or_url: str) -> None:
    """Disable a feed; its stored articles stay."""
    sync_feeds(app)
    _set_enabled(app, name_or_url, False)


@feeds.command("check")
@click.argument("url")
@click.option("--limit", type=click.IntRange(min=0), default=0,
              help="Show at most this many entries (0 = all).")
@pass_app
def check_cmd(app: App, url: str, limit: int) -> None:
    """Fetch and parse URL and print what would be stored; stores nothing."""
    from monitor.ingest.poll import check_url

    _check_url_form(url)
    parsed = check_url(url, app.config, app.now())
    click.echo(f"{parsed.title or '(untitled feed)'}: {len(parsed.entries)} entr"
               f"{'y' if len(parsed.entries) == 1 else 'ies'} would be stored")
    if parsed.warning:
        click.echo(f"warning: {parsed.warning}")
    shown = parsed.entries[:limit] if limit else parsed.entries
    rows = [(fmt_time(e.published_at), shorten(e.title, 80), e.link or "-") for e in shown]
    if rows:
        click.echo(format_table(("published (UTC)", "title", "link"), rows))
    if len(shown) < len(parsed.entries):
        click.echo(f"... and {len(parsed.entries) - len(shown)} more")
