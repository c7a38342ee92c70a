"""The `finsentinel` command group: global options, the lazy app context, errors -> exit codes.

Adding a command (or a group of commands) takes two steps:

1. Write ``monitor/commands/<area>.py`` defining click commands with ``@click.command()``
   (or a ``@click.group()``) and taking the app context with ``@pass_app``::

       from monitor.cli import App, pass_app

       @click.command()
       @pass_app
       def train(app: App) -> None:
           config, engine = app.config, app.engine   # loaded lazily, engine migrated

   Keep heavy imports (torch, transformers) inside the command function so that
   ``finsentinel --help`` and the other commands stay fast.
2. Register it with ONE line in ``COMMANDS`` below: ``"train": "monitor.commands.train:train"``.

Adding periodic work to `finsentinel run` (scoring, alerts) is one ``Job(name, func(now),
interval_seconds)`` line in ``monitor_jobs`` in monitor/commands/run.py.

Commands raise monitor.errors types (ConfigError, StoreError, ...) for user errors; this
module turns every FinSentinelError into one line on stderr and exit code 1, no traceback.
Usage errors exit 2 (click's convention). ``app.now()`` is the one clock commands read.
Commands print with click.echo; everything else logs (``-v`` INFO, ``-vv`` DEBUG).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor import __version__
from monitor.errors import FinSentinelError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.config import Config

# Command name -> "module:attribute". One line per command; modules are imported on use.
COMMANDS: dict[str, str] = {
    "run": "monitor.commands.run:run",
    "poll": "monitor.commands.ingest:poll",
    "feeds": "monitor.commands.ingest:feeds",
    "db": "monitor.commands.admin:db",
    "config": "monitor.commands.admin:config_cmd",
    "demo-feeds": "monitor.commands.demo:demo_feeds",
    "dashboard": "monitor.commands.dashboard:dashboard",
    "models": "monitor.commands.models:models",
    "score": "monitor.commands.models:score",
    "alerts": "monitor.commands.alerts:alerts",
}

# Commands of packages that build on monitor (training's train/evaluate/bootstrap) are
# plugged in through this entry-point group in pyproject.toml, so monitor never imports them.
PLUGIN_GROUP = "finsentinel.commands"


def plugin_commands() -> dict[str, str]:
    """Command name -> "module:attribute" from installed entry points of PLUGIN_GROUP."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}


F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


class App:
    """What every command needs, created on first use: the validated config and a store."""

    def __init__(self, config_path: str | None, verbosity: int = 0) -> None:
        self.config_path = config_path
        self.verbosity = verbosity
        self._config: Config | None = None
        self._engine: Engine | None = None
        # Scheduler jobs run in threads; they must share one config and one engine.
        self._lock = threading.RLock()

    @property
    def config(self) -> Config:
        with self._lock:
            if self._config is None:
                from monitor.config import load_config

                self._config = load_config(self.config_path)
            return self._config

    @property
    def engine(self) -> Engine:
        """An engine on the configured database, migrated to head (the monitor's start path)."""
        with self._lock:
            if self._engine is None:
                from monitor.store.engine import open_store

                cfg = self.config
                self._engine = open_store(cfg.database_url, echo=cfg.database.echo)
            return self._engine

    def now(self) -> datetime:
        return datetime.now(UTC)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def pass_app(f: F) -> F:
    """Decorator giving a command the App as its first argument."""
    return click.pass_obj(f)  # type: ignore[return-value]


class UserError(click.ClickException):
    """A FinSentinelError at the CLI edge: shown as one line, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _LazyGroup(click.Group):
    """A click group that imports each command's module only when that command is used."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module_name, attr = self._lazy[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FinSentinelError as err:
            raise UserError(str(err)) from None


def configure_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    # APScheduler logs every job start at INFO; only show that when debugging.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


@click.group(cls=_LazyGroup, lazy={**plugin_commands(), **COMMANDS},
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", default=None,
              help="Config file (default: $FINSENTINEL_CONFIG, else ./config.toml). "
                   "Relative paths inside it resolve against its folder.")
@click.option("-v", "--verbose", count=True, help="Log more: -v info, -vv debug.")
@click.version_option(version=__version__, prog_name="finsentinel")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """FinSentinel: financial news feeds -> topic + sentiment -> alerts on negative bursts."""
    configure_logging(verbose)
    app = App(config_path, verbose)
    ctx.obj = app
    ctx.call_on_close(app.close)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 1."""
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="finsentinel",
                      standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except FinSentinelError as err:  # raised outside a command, e.g. while closing
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
