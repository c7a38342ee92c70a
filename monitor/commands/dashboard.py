"""`finsentinel dashboard`: launch the Streamlit dashboard on the configured database."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import click

from monitor.cli import App, pass_app
from monitor.config import Config

log = logging.getLogger(__name__)

APP_PATH = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def streamlit_argv(config: Config, config_path: str | None, *, port: int | None = None,
                   host: str | None = None) -> list[str]:
    """The `streamlit run` command line for the dashboard (the app gets --config after --)."""
    argv = [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
            "--server.port", str(port or config.dashboard.port),
            "--server.address", host or config.dashboard.host,
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false"]
    if config_path:
        # Streamlit passes what follows `--` to the app's sys.argv; dashboard.context reads it.
        argv += ["--", "--config", str(Path(config_path).expanduser().resolve())]
    return argv


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: dashboard.port, 8501).")
@click.option("--host", default=None,
              help="Address to listen on (default: dashboard.host, 127.0.0.1).")
@pass_app
def dashboard(app: App, port: int | None, host: str | None) -> None:
    """Open the dashboard: trends, articles, alerts, feeds, labelling, models."""
    config = app.config  # validated here, so a bad config fails before Streamlit starts
    if not APP_PATH.is_file():
        raise click.ClickException(f"dashboard app not found at {APP_PATH}; reinstall "
                                   "FinSentinel from a source checkout")
    argv = streamlit_argv(config, app.config_path, port=port, host=host)
    click.echo(f"FinSentinel dashboard on http://{host or config.dashboard.host}:"
               f"{port or config.dashboard.port} (Ctrl-C stops it)")
    log.info("running %s", " ".join(argv))
    try:
        code = subprocess.call(argv)
    except KeyboardInterrupt:
        code = 0
    if code:
        raise click.ClickException(f"the dashboard (streamlit) exited with code {code}")
