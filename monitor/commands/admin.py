"""Administration CLI commands: `finsentinel db upgrade|rebuild-rollups`, `finsentinel config`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from monitor.cli import App, pass_app


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True,
              help="Alembic revision to migrate to.")
@pass_app
def upgrade_cmd(app: App, revision: str) -> None:
    """Create or migrate the database schema (the monitor also does this at start)."""
    from monitor.store.engine import current_revision, make_engine, upgrade

    engine = make_engine(app.config.database_url)
    try:
        upgrade(engine, revision)
        click.echo(f"database {engine.url.render_as_string(hide_password=True)} "
                   f"is at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@db.command("rebuild-rollups")
@pass_app
def rebuild_rollups_cmd(app: App) -> None:
    """Recompute the hourly sentiment rollups from the articles (safe to re-run)."""
    from monitor.store import rollups
    from monitor.store.engine import open_store

    engine = open_store(app.config.database_url)
    try:
        with engine.begin() as conn:
            rows = rollups.rebuild(conn)
        click.echo(f"rebuilt {rows} sentiment rollup rows")
    finally:
        engine.dispose()


@click.command("config")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml",
              show_default=True)
@pass_app
def config_cmd(app: App, fmt: str) -> None:
    """Print the effective configuration (file + environment), secrets redacted."""
    from monitor.config import active_env_overrides, redacted_dump

    data = redacted_dump(app.config)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"# effective configuration; relative paths resolve against "
               f"{app.config.base_dir}")
    for name in active_env_overrides():
        click.echo(f"# overridden by environment variable {name}")
    click.echo(to_toml(data), nl=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    if v is None:
        raise ValueError("TOML has no null")
    return json.dumps(str(v))


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list | tuple) and bool(v) and all(isinstance(x, Mapping) for x in v)


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """A TOML document for plain nested data (tables, arrays of tables, scalars, lists)."""
    lines: list[str] = []
    nested: list[tuple[str, Any]] = []
    for k, v in data.items():
        if v is None:
            continue  # TOML has no null: an absent key means the default
        if isinstance(v, Mapping) or _is_table_list(v):
            nested.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in nested:
        name = f"{prefix}{_key(k)}"
        if isinstance(v, Mapping):
            out += f"\n[{name}]\n" + to_toml(v, prefix=name + ".")
        else:
            for item in v:
                out += f"\n[[{name}]]\n" + to_toml(item, prefix=name + ".")
    return out
