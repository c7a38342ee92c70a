"""The `finsentinel train` command: its options, the checks on how they combine, the mode run.

One command trains in five modes (plain, --task both, --aux-data, --soup, --unlabelled); the
options are gathered into one TrainRequest so the checks and each mode read named fields.
Registered through the "finsentinel.commands" entry points like the other training commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli import App, pass_app
from monitor.errors import DataError
from training.commands import data_options

if TYPE_CHECKING:
    from training.data import LabelledData
    from training.train import TrainOutcome, TrainParams


@click.command()
@click.option("--task", type=click.Choice(["sentiment", "topic", "both"]), required=True,
              help="What the model predicts; 'both' trains one shared encoder with a head per "
                   "task (scoring both then costs one pass) and saves a version per task.")
@data_options
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
def train(app: App, **options: Any) -> None:
    """Fine-tune a new TASK model version on labelled files and/or database labels."""
    from training.data import load_labelled, task_labels
    from training.labels_map import parse_label_map
    from training.train import train_version

    req = TrainRequest(**options)
    _check_request(req)
    params = _train_params(req)
    if req.task == "both":
        _train_both(app, req, params)
        return
    data = load_labelled(req.files, req.task, task_labels(req.task, app.config),
                         text_column=req.text_column, label_column=req.label_column,
                         label_map=parse_label_map(req.label_map),
                         engine=app.engine if req.from_db else None,
                         skip_invalid=req.skip_invalid)
    click.echo(f"training {req.task} on {_examples(data)}")
    if req.aux_data:
        outcome = _train_auxiliary(app, req, data, params)
    elif req.soup != 1:
        outcome = _train_soup(app, req, data, params)
    elif req.self_training:
        outcome = _train_self_trained(app, req, data, params)
    else:
        outcome = train_version(app.config, app.engine, data, params, now=app.now(),
                                base_model=req.base_model)
    _report(outcome)


@dataclass(frozen=True)
class TrainRequest:
    """The `train` command's options as click parsed them (one field per option)."""

    task: str
    data_files: tuple[Path, ...]
    more_files: tuple[Path, ...]
    text_column: str | None
    label_column: str | None
    label_map: str | None
    skip_invalid: bool
    sentiment_data: tuple[Path, ...]
    topic_data: tuple[Path, ...]
    sentiment_label_map: str | None
    topic_label_map: str | None
    aux_data: tuple[Path, ...]
    aux_label_map: str | None
    from_db: bool
    unlabelled: tuple[Path, ...]
    unlabelled_from_db: bool
    min_confidence: float
    soup: int
    epochs: int | None
    lr: float | None
    batch_size: int | None
    max_length: int | None
    seed: int | None
    eval_fraction: float | None
    threads: int | None
    train_embeddings: bool
    ema: float | None
    no_lexical: bool
    base_model: str | None

    @property
    def files(self) -> list[Path]:
        return [*self.data_files, *self.more_files]

    @property
    def self_training(self) -> bool:
        return bool(self.unlabelled or self.unlabelled_from_db)


def _check_request(req: TrainRequest) -> None:
    """Reject option combinations that no training mode takes, before any data is read."""
    if (req.self_training or req.soup != 1) and (req.task == "both" or req.aux_data):
        raise DataError("--unlabelled/--unlabelled-from-db/--soup go with --task sentiment or "
                        "topic and without --aux-data")
    if req.soup != 1:
        from training.soup import check_members

        if req.self_training:
            raise DataError("--soup and --unlabelled/--unlabelled-from-db cannot be combined "
                            "yet; choose one")
        check_members(req.soup)
    if req.task == "both":
        if req.aux_data:
            raise DataError("--aux-data goes with --task sentiment or topic; with --task both "
                            "each task's data is already learned through its own head")
        if req.label_column or req.label_map:
            raise DataError("--task both reads each task's own column (sentiment, topic): "
                            "drop --label-column/--label-map and use --sentiment-label-map / "
                            "--topic-label-map")
        return
    if req.aux_label_map and not req.aux_data:
        raise DataError("--aux-label-map needs --aux-data FILE")
    if req.sentiment_data or req.topic_data or req.sentiment_label_map or req.topic_label_map:
        raise DataError("--sentiment-data/--topic-data and their label maps go with --task "
                        "both; for one task use --data and --label-map")
    if not req.files and not req.from_db:
        raise DataError("nothing to train on: give --data FILE (one or more) and/or --from-db")


def _train_params(req: TrainRequest) -> TrainParams:
    """TrainParams from the options given; the ones left out keep TrainParams' defaults."""
    from training.train import TrainParams

    given: dict[str, Any] = {"epochs": req.epochs, "lr": req.lr, "batch_size": req.batch_size,
                             "max_length": req.max_length, "seed": req.seed,
                             "eval_fraction": req.eval_fraction, "threads": req.threads,
                             "ema_epochs": req.ema}
    return TrainParams(**{k: v for k, v in given.items() if v is not None},
                       freeze_embeddings=not req.train_embeddings, lexical=not req.no_lexical)


def _train_auxiliary(app: App, req: TrainRequest, data: LabelledData,
                     params: TrainParams) -> TrainOutcome:
    from training.data import load_labelled, task_labels
    from training.joint import train_with_auxiliary
    from training.labels_map import parse_label_map

    aux = load_labelled(list(req.aux_data), req.task, task_labels(req.task, app.config),
                        text_column=req.text_column,
                        label_map=parse_label_map(req.aux_label_map),
                        skip_invalid=req.skip_invalid)
    click.echo(f"with an auxiliary head on {len(aux.examples)} examples of "
               f"{', '.join(str(f) for f in req.aux_data)}")
    return train_with_auxiliary(app.config, app.engine, data, aux, params, now=app.now(),
                                base_model=req.base_model)


def _train_soup(app: App, req: TrainRequest, data: LabelledData,
                params: TrainParams) -> TrainOutcome:
    from training.soup import train_soup

    click.echo(f"model soup: {req.soup} fine-tunes (seeds {params.seed}-"
               f"{params.seed + req.soup - 1}), their weights averaged")
    outcome = train_soup(app.config, app.engine, data, params, members=req.soup, now=app.now(),
                         base_model=req.base_model)
    info = outcome.card["soup"]
    click.echo("validation macro-F1: runs " + ", ".join(
        f"{m['validation']['macro_f1']:.4f}" for m in info["members"])
        + f"; soup {info['soup_validation']['macro_f1']:.4f}; kept the {info['kept']}")
    return outcome


def _train_self_trained(app: App, req: TrainRequest, data: LabelledData,
                        params: TrainParams) -> TrainOutcome:
    from training.pseudo import load_unlabelled, train_self_trained

    texts = load_unlabelled(list(req.unlabelled), text_column=req.text_column,
                            engine=app.engine if req.unlabelled_from_db else None)
    click.echo(f"self-training with {len(texts.texts)} unlabelled texts (pseudo-labels "
               f"kept at >= {req.min_confidence})")
    outcome = train_self_trained(app.config, app.engine, data, texts, params,
                                 min_confidence=req.min_confidence, now=app.now(),
                                 base_model=req.base_model)
    st = outcome.card["self_training"]
    click.echo(f"pseudo-labelled {st['pseudo_labelled']} of {st['offered']} texts; kept "
               f"the {st['kept']} (validation macro-F1 teacher "
               f"{st['teacher_validation']['macro_f1']:.4f}, student "
               + (f"{st['student_validation']['macro_f1']:.4f})"
                  if st["student_validation"] else "not trained)"))
    return outcome


def _train_both(app: App, req: TrainRequest, params: TrainParams) -> None:
    from training.data import load_labelled, task_labels
    from training.joint import train_joint_versions
    from training.labels_map import parse_label_map

    per_task = {"sentiment": (req.sentiment_data, req.sentiment_label_map),
                "topic": (req.topic_data, req.topic_label_map)}
    parts = []
    for task, (own_files, own_map) in per_task.items():
        task_files = [*req.files, *own_files]
        if not task_files and not req.from_db:
            raise DataError(f"--task both: nothing labelled for {task}; give --data FILE "
                            f"(labelled for both tasks), --{task}-data FILE and/or --from-db")
        parts.append(load_labelled(task_files, task, task_labels(task, app.config),
                                   text_column=req.text_column,
                                   label_map=parse_label_map(own_map),
                                   engine=app.engine if req.from_db else None,
                                   skip_invalid=req.skip_invalid))
    for part in parts:
        click.echo(f"{part.task}: {_examples(part)}")
    click.echo("training both tasks over one shared encoder")
    for outcome in train_joint_versions(app.config, app.engine, parts, params, now=app.now(),
                                        base_model=req.base_model):
        click.echo(f"\n=== {outcome.card['task']} ===")
        _report(outcome)


def _examples(data: LabelledData) -> str:
    """'N examples (label=count, ...)', as both training paths announce their data."""
    counts = ", ".join(f"{k}={v}" for k, v in data.counts().items())
    return f"{len(data.examples)} examples ({counts})"


def _report(outcome: TrainOutcome) -> None:
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
