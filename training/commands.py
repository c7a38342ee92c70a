"""CLI commands for model training: `finsentinel train`, `evaluate`, `bootstrap` and `adapt`.

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
        click.option("--skip-invalid", is_flag=True,
                     help="Drop rows that fail validation (empty text, unknown label, "
                          "conflicting duplicates) with a warning instead of stopping."),
    )
    for option in reversed(options):
        f = option(f)
    return click.argument("more_files", nargs=-1, type=click.Path(path_type=Path))(f)


@click.command()
@click.option("--task", type=click.Choice(["sentiment", "topic", "both"]), required=True,
              help="What the model predicts; 'both' trains one shared encoder with a head per "
                   "task (scoring both then costs one pass) and saves a version per task.")
@_data_options
@click.option("--sentiment-data", multiple=True, metavar="FILE", type=click.Path(path_type=Path),
              help="With --task both: a file labelled for sentiment only (repeatable).")
@click.option("--topic-data", multiple=True, metavar="FILE", type=click.Path(path_type=Path),
              help="With --task both: a file labelled for topic only (repeatable).")
@click.option("--sentiment-label-map", default=None, metavar="MAP|FILE.json",
              help="With --task both: --label-map for the sentiment labels.")
@click.option("--topic-label-map", default=None, metavar="MAP|FILE.json",
              help="With --task both: --label-map for the topic labels.")
@click.option("--aux-data", multiple=True, metavar="FILE", type=click.Path(path_type=Path),
              help="Other data labelled for the same task, learned through a separate "
                   "auxiliary head (its label conventions stay out of the model; repeatable).")
@click.option("--aux-label-map", default=None, metavar="MAP|FILE.json",
              help="--label-map for the --aux-data files.")
@click.option("--from-db", is_flag=True, help="Also train on labels stored in the database.")
@click.option("--unlabelled", multiple=True, metavar="FILE", type=click.Path(path_type=Path),
              help="Self-training: texts without labels (CSV / TSV / JSONL text column); a "
                   "first model labels them, the confident ones join the training rows of a "
                   "second, and the better of the two by validation is saved (repeatable).")
@click.option("--unlabelled-from-db", is_flag=True,
              help="Self-training on the newest stored articles (up to 50,000).")
@click.option("--min-confidence", type=float, default=0.9, show_default=True,
              help="Self-training: keep pseudo-labels at least this probable.")
@click.option("--soup", "soup", type=int, default=1, show_default=True, metavar="K",
              help="Model soup: fine-tune K times from one starting point (seeds differ) and "
                   "average the weights into one model, scored at the cost of one; the soup "
                   "is saved unless it clearly trails the best run on validation (K >= 2 costs "
                   "K runs).")
@click.option("--epochs", type=int, default=None, help="Most epochs (early stopping may end "
              "sooner) [default: 8].")
@click.option("--lr", type=float, default=None, help="Peak learning rate [default: 1e-4].")
@click.option("--batch-size", type=int, default=None, help="[default: 32 on CPU, 64 on GPU]")
@click.option("--max-length", type=int, default=None, help="Tokens per text [default: 64].")
@click.option("--seed", type=int, default=None, help="Seed for split and training [13].")
@click.option("--eval-fraction", type=float, default=None,
              help="Share held out for validation / early stopping [default: 0.15].")
@click.option("--threads", type=int, default=None,
              help="CPU threads for training [default: torch's, i.e. the physical cores or "
                   "OMP_NUM_THREADS]; lower it on a machine shared with other work.")
@click.option("--train-embeddings", is_flag=True,
              help="Fine-tune the word-embedding matrix too (frozen by default). Measured on "
                   "tweets (cashtags, slang) +1 point; on FPB's news sentences it lost.")
@click.option("--ema", type=float, default=None, metavar="EPOCHS",
              help="Validate and save an exponential moving average of the weights spanning "
                   "about this many epochs (0 = the weights themselves) [default: 1].")
@click.option("--no-lexical", is_flag=True,
              help="Encoder only: no TF-IDF linear model blended in (by default one is fitted "
                   "on the same rows and kept when it improves validation macro-F1).")
@click.option("--base-model", default=None,
              help="'packaged', a local folder or a hub id [default: model.base_model].")
@pass_app
def train(app: App, task: str, data_files: tuple[Path, ...], more_files: tuple[Path, ...],
          text_column: str | None, label_column: str | None, label_map: str | None,
          skip_invalid: bool, sentiment_data: tuple[Path, ...], topic_data: tuple[Path, ...],
          sentiment_label_map: str | None, topic_label_map: str | None,
          aux_data: tuple[Path, ...], aux_label_map: str | None, from_db: bool,
          unlabelled: tuple[Path, ...], unlabelled_from_db: bool, min_confidence: float,
          soup: int, epochs: int | None, lr: float | None, batch_size: int | None,
          max_length: int | None, seed: int | None, eval_fraction: float | None,
          threads: int | None, train_embeddings: bool, ema: float | None, no_lexical: bool,
          base_model: str | None) -> None:
    """Fine-tune a new TASK model version on labelled files and/or database labels."""
    from training.data import load_labelled, task_labels
    from training.labels_map import parse_label_map
    from training.train import TrainParams, train_version

    files = [*data_files, *more_files]
    given: dict[str, Any] = {"epochs": epochs, "lr": lr, "batch_size": batch_size,
                             "max_length": max_length, "seed": seed,
                             "eval_fraction": eval_fraction, "threads": threads, "ema_epochs": ema}
    params = TrainParams(**{k: v for k, v in given.items() if v is not None},
                         freeze_embeddings=not train_embeddings, lexical=not no_lexical)
    self_training = bool(unlabelled or unlabelled_from_db)
    if (self_training or soup != 1) and (task == "both" or aux_data):
        raise DataError("--unlabelled/--unlabelled-from-db/--soup go with --task sentiment or "
                        "topic and without --aux-data")
    if soup != 1:
        from training.soup import check_members

        if self_training:
            raise DataError("--soup and --unlabelled/--unlabelled-from-db cannot be combined "
                            "yet; choose one")
        check_members(soup)
    if task == "both":
        if aux_data:
            raise DataError("--aux-data goes with --task sentiment or topic; with --task both "
                            "each task's data is already learned through its own head")
        if label_column or label_map:
            raise DataError("--task both reads each task's own column (sentiment, topic): "
                            "drop --label-column/--label-map and use --sentiment-label-map / "
                            "--topic-label-map")
        per_task = {"sentiment": (sentiment_data, sentiment_label_map),
                    "topic": (topic_data, topic_label_map)}
        _train_both(app, files, per_task, text_column, from_db, skip_invalid, params,
                    base_model)
        return
    if aux_label_map and not aux_data:
        raise DataError("--aux-label-map needs --aux-data FILE")
    if sentiment_data or topic_data or sentiment_label_map or topic_label_map:
        raise DataError("--sentiment-data/--topic-data and their label maps go with --task "
                        "both; for one task use --data and --label-map")
    if not files and not from_db:
        raise DataError("nothing to train on: give --data FILE (one or more) and/or --from-db")
    data = load_labelled(files, task, task_labels(task, app.config), text_column=text_column,
                         label_column=label_column, label_map=parse_label_map(label_map),
                         engine=app.engine if from_db else None, skip_invalid=skip_invalid)
    counts = ", ".join(f"{k}={v}" for k, v in data.counts().items())
    click.echo(f"training {task} on {len(data.examples)} examples ({counts})")
    if aux_data:
        from training.joint import train_with_auxiliary

        aux = load_labelled(list(aux_data), task, task_labels(task, app.config),
                            text_column=text_column, label_map=parse_label_map(aux_label_map),
                            skip_invalid=skip_invalid)
        click.echo(f"with an auxiliary head on {len(aux.examples)} examples of "
                   f"{', '.join(str(f) for f in aux_data)}")
        outcome = train_with_auxiliary(app.config, app.engine, data, aux, params,
                                       now=app.now(), base_model=base_model)
    elif soup != 1:
        from training.soup import train_soup

        click.echo(f"model soup: {soup} fine-tunes (seeds {params.seed}-{params.seed + soup - 1})"
                   ", their weights averaged")
        outcome = train_soup(app.config, app.engine, data, params, members=soup, now=app.now(),
                             base_model=base_model)
        info = outcome.card["soup"]
        click.echo("validation macro-F1: runs " + ", ".join(
            f"{m['validation']['macro_f1']:.4f}" for m in info["members"])
            + f"; soup {info['soup_validation']['macro_f1']:.4f}; kept the {info['kept']}")
    elif self_training:
        from training.pseudo import load_unlabelled, train_self_trained

        texts = load_unlabelled(list(unlabelled), text_column=text_column,
                                engine=app.engine if unlabelled_from_db else None)
        click.echo(f"self-training with {len(texts.texts)} unlabelled texts (pseudo-labels "
                   f"kept at >= {min_confidence})")
        outcome = train_self_trained(app.config, app.engine, data, texts, params,
                                     min_confidence=min_confidence, now=app.now(),
                                     base_model=base_model)
        st = outcome.card["self_training"]
        click.echo(f"pseudo-labelled {st['pseudo_labelled']} of {st['offered']} texts; kept "
                   f"the {st['kept']} (validation macro-F1 teacher "
                   f"{st['teacher_validation']['macro_f1']:.4f}, student "
                   + (f"{st['student_validation']['macro_f1']:.4f})"
                      if st["student_validation"] else "not trained)"))
    else:
        outcome = train_version(app.config, app.engine, data, params, now=app.now(),
                                base_model=base_model)
    _report(outcome)


def _train_both(app: App, files: list[Path],
                per_task: dict[str, tuple[tuple[Path, ...], str | None]],
                text_column: str | None, from_db: bool, skip_invalid: bool, params: Any,
                base_model: str | None) -> None:
    from training.data import load_labelled, task_labels
    from training.joint import train_joint_versions
    from training.labels_map import parse_label_map

    parts = []
    for task, (own_files, own_map) in per_task.items():
        task_files = [*files, *own_files]
        if not task_files and not from_db:
            raise DataError(f"--task both: nothing labelled for {task}; give --data FILE "
                            f"(labelled for both tasks), --{task}-data FILE and/or --from-db")
        parts.append(load_labelled(task_files, task, task_labels(task, app.config),
                                   text_column=text_column, label_map=parse_label_map(own_map),
                                   engine=app.engine if from_db else None,
                                   skip_invalid=skip_invalid))
    for part in parts:
        counts = ", ".join(f"{k}={v}" for k, v in part.counts().items())
        click.echo(f"{part.task}: {len(part.examples)} examples ({counts})")
    click.echo("training both tasks over one shared encoder")
    for outcome in train_joint_versions(app.config, app.engine, parts, params, now=app.now(),
                                        base_model=base_model):
        click.echo(f"\n=== {outcome.card['task']} ===")
        _report(outcome)


def _report(outcome: Any) -> None:
    from training.evaluate import format_metrics

    task = outcome.card["task"]
    epoch = outcome.card["best_epoch"]
    how = f"best epoch {epoch}" if epoch is not None else "averaged weights"
    lexical = outcome.card.get("lexical") or {}
    if lexical.get("kept"):
        alone = lexical["validation"]["encoder"]
        how += (f", blended with a lexical model at weight {lexical['weight']:g}; the encoder "
                f"alone: accuracy {alone['accuracy']:.4f} macro-F1 {alone['macro_f1']:.4f}")
    elif lexical:
        how += ", encoder only: a lexical blend did not improve validation"
    click.echo(f"\nvalidation metrics ({how}, {outcome.card['training_seconds']:.0f} s):")
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
    from training.pseudo import candidate_texts, load_unlabelled
    from training.train import pick_device

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
