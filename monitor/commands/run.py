"""`finsentinel run`: the long-running monitor (migrate, sync feeds, then the scheduled jobs).

Each job is one line in ``monitor_jobs``; its tick function stays small and delegates to
the stage that does the work (monitor.ingest.poll, monitor.scoring.job, monitor.alerts.job).
"""

from __future__ import annotations

import logging
from datetime import datetime

import click

from monitor.cli import App, pass_app
from monitor.commands.ingest import sync_feeds
from monitor.scheduler import Job, run_jobs

log = logging.getLogger(__name__)


def poll_tick(app: App, now: datetime) -> None:
    """Poll the feeds that are due; poll_feeds logs the tick's summary and every failure."""
    from monitor.ingest.poll import poll_feeds

    if not poll_feeds(app.engine, app.config, now, only_due=True):
        log.debug("poll tick: no feed due")


def score_tick(app: App, now: datetime) -> None:
    """Score what is unscored for each task's active version (picks up newly activated ones)."""
    from monitor.scoring.job import score_pending

    # Bounded per run so one tick cannot hold the scheduler for long after a big first poll.
    score_pending(app.engine, app.config, now, max_articles=2000)


def alerts_tick(app: App, now: datetime) -> None:
    """Detect bursts, persist alerts, deliver what is due."""
    from monitor.alerts.job import run_alerts

    run_alerts(app.engine, app.config, now)


def monitor_jobs(app: App) -> list[Job]:
    """The monitor's periodic work: poll -> score -> alert, each on its own interval."""
    sched = app.config.scheduler
    jobs = [
        Job("poll", lambda now: poll_tick(app, now), sched.tick_seconds),
        Job("score", lambda now: score_tick(app, now), sched.score_interval_seconds),
    ]
    if app.config.alerts.enabled:
        jobs.append(Job("alerts", lambda now: alerts_tick(app, now),
                        sched.alert_interval_seconds))
    return jobs


def _warn_without_feeds(app: App) -> None:
    from monitor.store.feeds import list_feeds

    with app.engine.connect() as conn:
        enabled = [f for f in list_feeds(conn) if f.enabled]
    if not enabled:
        log.warning("no enabled feeds: add [[feeds]] to %s or run `finsentinel feeds add NAME "
                    "URL`; to try FinSentinel offline run `make demo`",
                    app.config_path or "the config file")


def _check_fetch_settings(app: App) -> None:
    """Stop at start-up, in one line, when the proxy or CA settings cannot work (a proxy_env
    variable that is not set, an unreadable ca_bundle), rather than fail every poll."""
    from monitor.ingest.fetch import HttpFetcher

    HttpFetcher(app.config.fetch).close()


@click.command()
@pass_app
def run(app: App) -> None:
    """Run the monitor until stopped (Ctrl-C or SIGTERM): poll, score and alert."""
    if app.verbosity == 0:  # a service should say what it does without -v
        logging.getLogger().setLevel(logging.INFO)
    _check_fetch_settings(app)
    engine = app.engine  # opening it migrates the database to head
    sync_feeds(app)
    log.info("database %s ready; %d feed(s) in config",
             engine.url.render_as_string(hide_password=True), len(app.config.feeds))
    _warn_without_feeds(app)
    run_jobs(monitor_jobs(app))
