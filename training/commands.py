"""CLI commands for model training: `finsentinel train`, `evaluate` and `bootstrap`.

They live in the training package because imports point training -> monitor: monitor/cli.py
loads them through the "finsentinel.commands" entry points (pyproject.toml). torch and the
training modules are imported inside the commands, so `finsentinel --help` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from monitor.cli import App, pass_app
from monitor.errors import DataError, ModelError

log = logging.getLogger(__name__)

TASKS = click.Choice(["sentiment", "topic"])


def _data_options(f: Any) -> Any:
    """--data/--text-column/--label-column/--label-map, shared by train and evaluate."""
    options = (
        click.option("--data", "data_files", multiple=True, metavar="FILE",
                     type=click.Path(path_type=Path),
                     help="Labelled CSV / TSV / JSONL, or a Financial PhraseBank sentence@label "
                          ".txt; more files may follow as arguments."),
        click.option("--text-column", default=None,
                     help="Text column (default: text, sentence, headline or title)."),
        click.option("--label-column", default=None,
                     help="Label column (default: the task name, label, sentiment or topic)."),
        click.option("--label-map", default=None, metavar="MAP|FILE.json",
                     help="Raw label -> task label, e.g. '0=negative,1=positive,2=neutral', "
                          "or a JSON file of that mapping."),
    )
    for option in reversed(options):
        f = option(f)
    return click.argument("more_files", nargs=-1, type=click.Path(path_type=Path))(f)


@click.command()
@click.option("--task", type=TASKS, required=True, help="What the model predicts.")
@_data_options
@click.option("--from-db", is_flag=True, help="Also train on labels stored in the database.")
@click.option("--epochs", type=int, default=None, help="Most epochs (early stopping may end "
              "sooner) [default: 8].")
@click.option("--lr", type=float, default=None, help="Peak learning rate [default: 1e-4].")
@click.option("--batch-size", type=int, default=None, help="[default: 32 on CPU, 64 on GPU]")
@click.option("--max-length", type=int, default=None, help="Tokens per text [default: 64].")
@click.option("--seed", type=int, default=None, help="Seed for split and training [13].")
@click.option("--eval-fraction", type=float, default=None,
              help="Share held out for validation / early stopping [default: 0.15].")
@click.option("--base-model", default=None,
              help="'packaged', a local folder or a hub id [default: model.base_model].")
@pass_app
def train(app: App, task: str, data_files: tuple[Path, ...], more_files: tuple[Path, ...],
          text_column: str | None, label_column: str | None, label_map: str | None,
          from_db: bool, epochs: int | None, lr: float | None, batch_size: int | None,
          max_length: int | None, seed: int | None, eval_fraction: float | None,
          base_model: str | None) -> None:
    """Fine-tune a new TASK model version on labelled files and/or database labels."""
    from training.data import load_labelled, task_labels
    from training.evaluate import format_metrics
    from training.labels_map import parse_label_map
    from training.train import TrainParams, train_version

    files = [*data_files, *more_files]
    if not files and not from_db:
        raise DataError("nothing to train on: give --data FILE (one or more) and/or --from-db")
    data = load_labelled(files, task, task_labels(task, app.config), text_column=text_column,
                         label_column=label_column, label_map=parse_label_map(label_map),
                         engine=app.engine if from_db else None)
    given: dict[str, Any] = {"epochs": epochs, "lr": lr, "batch_size": batch_size,
                             "max_length": max_length, "seed": seed,
                             "eval_fraction": eval_fraction}
    overrides = {k: v for k, v in given.items() if v is not None}
    params = TrainParams(**overrides)
    counts = ", ".join(f"{k}={v}" for k, v in data.counts().items())
    click.echo(f"training {task} on {len(data.examples)} examples ({counts})")
    outcome = train_version(app.config, app.engine, data, params, now=app.now(),
                            base_model=base_model)
    click.echo(f"\nvalidation metrics (best epoch {outcome.card['best_epoch']}, "
               f"{outcome.card['training_seconds']:.0f} s):")
    click.echo(format_metrics(outcome.metrics))
    click.echo(f"\nsaved model version {outcome.version} in {outcome.folder}")
    if outcome.active:
        click.echo(f"{outcome.version} is now the active {task} model (first version)")
    else:
        click.echo(f"not active yet: `finsentinel models activate {outcome.version}`")


def _version_folder(app: App, task: str, version: str | None) -> Path:
    from monitor.scoring import registry
    from monitor.store.models import get_version

    if version is None:
        info = registry.active_info(app.engine, task)
        if info is None:
            raise ModelError(f"no active {task} model; train one (`finsentinel train` or "
                             "`finsentinel bootstrap`) or name one with --model")
        return info.path
    with app.engine.connect() as conn:
        row = get_version(conn, version)
    if row is None:
        raise ModelError(f"unknown model version {version!r}; see `finsentinel models list`")
    if row.task != task:
        raise ModelError(f"model version {version} is a {row.task} model, not {task}")
    return Path(row.path)


@click.command()
@click.option("--task", type=TASKS, required=True)
@_data_options
@click.option("--model", "version", default=None, metavar="VERSION",
              help="Model version to evaluate [default: the active one].")
@click.option("--max-length", type=int, default=None,
              help="Tokens per text [default: the model's training max length].")
@click.option("--batch-size", type=int, default=64)
@pass_app
def evaluate(app: App, task: str, data_files: tuple[Path, ...], more_files: tuple[Path, ...],
             text_column: str | None, label_column: str | None, label_map: str | None,
             version: str | None, max_length: int | None, batch_size: int) -> None:
    """Evaluate the active (or a named) TASK model on labelled files."""
    from monitor.scoring.artifact import load_version
    from training.data import load_labelled
    from training.evaluate import evaluate_examples, format_metrics
    from training.labels_map import parse_label_map

    files = [*data_files, *more_files]
    if not files:
        raise DataError("give the labelled file(s) to evaluate on with --data FILE")
    loaded = load_version(_version_folder(app, task, version))
    data = load_labelled(files, task, loaded.labels, text_column=text_column,
                         label_column=label_column, label_map=parse_label_map(label_map))
    length = max_length or int(loaded.card.get("max_length") or app.config.model.max_length)
    metrics = evaluate_examples(loaded.model, loaded.tokenizer,
                                [e.text for e in data.examples],
                                [e.label for e in data.examples], loaded.labels,
                                max_length=length, batch_size=batch_size)
    click.echo(f"model {loaded.version} ({task}) on {', '.join(str(f) for f in files)}:")
    click.echo(format_metrics(metrics))


@click.command()
@click.option("--task", "tasks", type=TASKS, multiple=True,
              help="Only this task (repeatable) [default: both].")
@click.option("--force", is_flag=True, help="Train even when the task has an active model "
              "(the new version then waits for `finsentinel models activate`).")
@click.option("--epochs", type=int, default=None, help="Override the bootstrap recipe.")
@pass_app
def bootstrap(app: App, tasks: tuple[str, ...], force: bool, epochs: int | None) -> None:
    """Train the default models from the shipped labelled set where none is active."""
    from training.bootstrap.train import bootstrap_task

    overrides = {"epochs": epochs} if epochs is not None else {}
    for task in tasks or ("sentiment", "topic"):
        result = bootstrap_task(app.config, app.engine, task, now=app.now(), force=force,
                                overrides=overrides)
        if result.skipped:
            click.echo(f"{task}: skipped ({result.skipped})")
            continue
        m = result.metrics or {}
        click.echo(f"{task}: trained {result.version} in {result.seconds or 0:.0f} s "
                   f"(bootstrap validation accuracy {m.get('accuracy', 0):.3f}, "
                   f"macro-F1 {m.get('macro_f1', 0):.3f})")
