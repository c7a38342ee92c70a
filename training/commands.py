"""CLI commands for model versions: `finsentinel evaluate`, `bootstrap` and `adapt`.

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


def data_options(f: Any) -> Any:
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
        click.option("--skip-invalid", is_flag=True,
                     help="Drop rows that fail validation (empty text or label, unknown label, "
                          "conflicting duplicates) with a warning instead of stopping."),
    )
    for option in reversed(options):
        f = option(f)
    return click.argument("more_files", nargs=-1, type=click.Path(path_type=Path))(f)


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
@data_options
@click.option("--model", "version", default=None, metavar="VERSION",
              help="Model version to evaluate [default: the active one].")
@click.option("--max-length", type=int, default=None,
              help="Tokens per text [default: the model's training max length].")
@click.option("--batch-size", type=int, default=64)
@pass_app
def evaluate(app: App, task: str, data_files: tuple[Path, ...], more_files: tuple[Path, ...],
             text_column: str | None, label_column: str | None, label_map: str | None,
             skip_invalid: bool, version: str | None, max_length: int | None,
             batch_size: int) -> None:
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
                         label_column=label_column, label_map=parse_label_map(label_map),
                         skip_invalid=skip_invalid)
    length = max_length or loaded.max_length(app.config.model.max_length)
    metrics = evaluate_examples(loaded.model, loaded.tokenizer,
                                [e.text for e in data.examples],
                                [e.label for e in data.examples], loaded.labels,
                                max_length=length, batch_size=batch_size,
                                lexical=loaded.lexical)
    blend = f", blended with its lexical model at weight {loaded.lexical.weight:g}" \
        if loaded.lexical else ""
    click.echo(f"model {loaded.version} ({task}{blend}) on "
               f"{', '.join(str(f) for f in files)}:")
    click.echo(format_metrics(metrics))


@click.command()
@click.option("--task", "tasks", type=TASKS, multiple=True,
              help="Only this task (repeatable) [default: both].")
@click.option("--force", is_flag=True, help="Train even when the task has an active model "
              "(the new version then waits for `finsentinel models activate`).")
@click.option("--epochs", type=int, default=None, help="Override the bootstrap recipe.")
@click.option("--joint", is_flag=True, help="Train both tasks over one shared encoder (one "
              "run; scoring both costs one pass; measured less accurate, see README).")
@pass_app
def bootstrap(app: App, tasks: tuple[str, ...], force: bool, epochs: int | None,
              joint: bool) -> None:
    """Train the default models from the shipped labelled set where none is active."""
    from training.bootstrap.train import bootstrap as train_bootstrap

    overrides = {"epochs": epochs} if epochs is not None else {}
    for result in train_bootstrap(app.config, app.engine, tasks or ("sentiment", "topic"),
                                  now=app.now(), force=force, joint=joint,
                                  overrides=overrides):
        task = result.task
        if result.skipped:
            click.echo(f"{task}: skipped ({result.skipped})")
            continue
        m = result.metrics or {}
        click.echo(f"{task}: trained {result.version} in {result.seconds or 0:.0f} s "
                   f"(bootstrap validation accuracy {m.get('accuracy', 0):.3f}, "
                   f"macro-F1 {m.get('macro_f1', 0):.3f})")


@click.command()
@click.option("--data", "data_files", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path),
              help="In-domain texts: CSV / TSV / JSONL (text column detected or --text-column) "
                   "or FPB .txt; labels, if any, are not used. Repeatable.")
@click.option("--text-column", default=None, help="Column holding the text.")
@click.option("--from-db", is_flag=True,
              help="Also the newest stored articles (headline and summary).")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="New folder for the adapted base model.")
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--lr", type=float, default=5e-5, show_default=True)
@click.option("--batch-size", type=int, default=None, help="[default: 32 on CPU, 128 on GPU]")
@click.option("--max-length", type=int, default=64, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--threads", type=int, default=None,
              help="CPU threads [default: torch's]; lower it on a machine shared with other "
                   "work.")
@click.option("--base-model", default=None,
              help="'packaged', a local folder or a hub id [default: model.base_model].")
@pass_app
def adapt(app: App, data_files: tuple[Path, ...], text_column: str | None, from_db: bool,
          out: Path, epochs: int, lr: float, batch_size: int | None, max_length: int,
          seed: int, threads: int | None, base_model: str | None) -> None:
    """Domain-adapt the base model: masked-LM training on unlabelled in-domain texts, saved
    as a new base folder for `train --base-model` (or model.base_model)."""
    from monitor.scoring.base_model import resolve_base_model
    from training.adapt import AdaptParams
    from training.adapt import adapt as run_adapt
    from training.device import pick_device
    from training.pseudo import candidate_texts, load_unlabelled

    if not data_files and not from_db:
        raise DataError("adapt needs texts: give --data FILE (repeatable) and/or --from-db")
    found = load_unlabelled(data_files, text_column=text_column,
                            engine=app.engine if from_db else None)
    texts = candidate_texts(found.texts, ())
    base = resolve_base_model(base_model or app.config.model.base_model, app.config)
    params = AdaptParams(epochs=epochs, lr=lr, batch_size=batch_size, max_length=max_length,
                         seed=seed, threads=threads)
    click.echo(f"adapting {base.name} on {len(texts)} texts for {epochs} epoch(s)")
    done = run_adapt(base, texts, out, params, now=app.now(),
                     device=pick_device(app.config.model.device))
    click.echo(f"adapted on {done.texts} texts in {done.seconds:.0f} s ({done.device}); "
               "masked-LM loss per epoch " + " ".join(f"{x:.3f}" for x in done.losses))
    click.echo(f"saved to {out}; train from it with --base-model {out} (or set "
               "model.base_model)")
