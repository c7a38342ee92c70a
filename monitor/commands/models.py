"""CLI commands for model versions and scoring: `finsentinel models ...` and `finsentinel score`."""

from __future__ import annotations

import click

from monitor.cli import App, pass_app
from monitor.commands import fmt_time, format_table
from monitor.types import Task

TASKS = click.Choice([t.value for t in Task])


@click.group()
def models() -> None:
    """List, activate and roll back model versions (the monitor picks changes up live)."""


def _metric(metrics: dict[str, object], *names: str) -> str:
    for name in names:
        value = metrics.get(name)
        if isinstance(value, int | float):
            return f"{value:.3f}"
    return "-"


@models.command("list")
@click.option("--task", type=TASKS, default=None, help="Only this task's versions.")
@pass_app
def list_cmd(app: App, task: str | None) -> None:
    """Every registered version with its metrics; * marks the active one per task."""
    from monitor.scoring import registry

    rows = registry.list_versions(app.engine, task)
    if not rows:
        click.echo("no model versions registered; run `finsentinel bootstrap` or "
                   "`finsentinel train --task sentiment|topic --data FILE`")
        return
    active = {t: registry.active_version(app.engine, t) for t in {r.task for r in rows}}
    table = [("*" if active.get(r.task) == r.version else "", r.task, r.version,
              fmt_time(r.created_at), _metric(r.metrics, "accuracy", "eval_accuracy"),
              _metric(r.metrics, "macro_f1", "f1_macro", "eval_macro_f1"),
              r.base_model or "-") for r in rows]
    click.echo(format_table(("", "task", "version", "created", "accuracy", "macro-F1",
                             "base model"), table))


@models.command()
@click.argument("version")
@click.option("--reason", default=None, help="Why (kept in the activation history).")
@pass_app
def activate(app: App, version: str, reason: str | None) -> None:
    """Make VERSION the active model of its task (its folder is verified first)."""
    from monitor.errors import ModelError
    from monitor.scoring import registry
    from monitor.store.models import get_version

    with app.engine.connect() as conn:
        row = get_version(conn, version)
    if row is None:
        raise ModelError(f"unknown model version {version!r}; see `finsentinel models list`")
    registry.activate(app.engine, row.task, version, now=app.now(), reason=reason)
    click.echo(f"activated {version} for {row.task}; the monitor uses it from its next "
               f"scoring run and re-scores the last {app.config.model.rescore_window_hours:g} h")


@models.command()
@click.option("--task", type=TASKS, required=True, help="The task to roll back.")
@pass_app
def rollback(app: App, task: str) -> None:
    """Go back to the version that was active before the current one."""
    from monitor.scoring import registry

    version = registry.rollback(app.engine, task, now=app.now())
    click.echo(f"{task}: active version is now {version}")


@models.command()
@click.option("--task", type=TASKS, required=True, help="The task whose history to show.")
@pass_app
def history(app: App, task: str) -> None:
    """The activation history of a task, newest first."""
    from monitor.scoring import registry

    rows = registry.activation_history(app.engine, task)
    click.echo(format_table(("activated", "version", "reason"),
                            [(fmt_time(r.activated_at), r.version, r.reason or "")
                             for r in rows]) if rows else f"no {task} version was ever activated")


@click.command()
@click.option("--task", "tasks", type=TASKS, multiple=True,
              help="Score only this task (repeatable; default both).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many articles per task in this run.")
@pass_app
def score(app: App, tasks: tuple[str, ...], limit: int | None) -> None:
    """Score pending articles once with the active versions and print the counts."""
    from monitor.scoring.job import score_pending

    chosen = tasks or tuple(t.value for t in Task)
    report = score_pending(app.engine, app.config, app.now(), tasks=chosen,
                           max_articles=limit)
    rows = [(t.task, t.version or "-", t.backend or "-", t.scored, t.rescored, t.restored,
             t.error or "") for t in report.tasks]
    click.echo(format_table(("task", "version", "backend", "scored", "re-scored",
                             "restored", "problem"), rows))
    if report.errors and report.scored == 0 and len(report.errors) == len(report.tasks):
        raise click.exceptions.Exit(1)  # nothing could be scored: say so to scripts
