"""Load and validate labelled files and DB labels for a task; deterministic stratified splits."""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import DataError
from monitor.scoring.base_model import sha256_file
from monitor.text import model_input
from monitor.types import SENTIMENT_LABELS, Task
from training.labels_map import LabelResolver
from training.readers import RawRow, read_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.config import Config

log = logging.getLogger(__name__)
MAX_PROBLEMS_SHOWN = 10
DB_SOURCE = "database:labels"


@dataclass(frozen=True)
class Example:
    """One validated training example: normalised model text, task label, origin."""

    text: str
    label: str
    source: str
    line: int


@dataclass(frozen=True)
class DataSource:
    """A data file (or the DB) as recorded in the model card."""

    path: str
    sha256: str | None
    rows: int


@dataclass(frozen=True)
class LabelledData:
    """Validated examples for one task, with the label set and where they came from."""

    task: str
    labels: tuple[str, ...]
    examples: tuple[Example, ...]
    sources: tuple[DataSource, ...]

    def counts(self) -> dict[str, int]:
        c = Counter(e.label for e in self.examples)
        return {label: c.get(label, 0) for label in self.labels}


def task_labels(task: str, config: Config | None = None) -> tuple[str, ...]:
    """The label set of a task: fixed for sentiment, config.model.topics for topic."""
    if task == Task.SENTIMENT.value:
        return SENTIMENT_LABELS
    if task == Task.TOPIC.value:
        if config is not None:
            return tuple(config.model.topics)
        from monitor.config_sections import DEFAULT_TOPICS

        return DEFAULT_TOPICS
    raise DataError(f"unknown task {task!r}; expected one of: sentiment, topic")


def _problems_error(problems: list[str], what: str) -> DataError:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return DataError(f"{len(problems)} problem(s) in {what}:\n  " + "\n  ".join(shown) + tail)


def validate_rows(rows: Iterable[RawRow], resolver: LabelResolver, *,
                  skip_invalid: bool = False) -> list[Example]:
    """Rows -> Examples; raises one DataError listing every bad row (file, line, value).

    Exact duplicates (same text, same label) are kept once; the same text with two different
    labels is an error naming both places. With skip_invalid the bad rows are dropped instead
    (a text with conflicting labels entirely) and a warning says how many and shows some.
    """
    problems: list[str] = []
    conflicted: set[str] = set()
    seen: dict[str, Example] = {}
    examples: list[Example] = []
    duplicates = 0
    for row in rows:
        where = f"{row.source} line {row.line}"
        text = model_input(row.text)
        if not text:
            problems.append(f"{where}: empty text")
            continue
        if not row.label.strip():
            problems.append(f"{where}: empty label; give this row one of the task's labels "
                            "or remove it")
            continue
        label = resolver.resolve(row.label)
        if label is None:
            problems.append(f"{where}: unknown label {row.label.strip()!r}; {resolver.hint()}")
            continue
        first = seen.get(text)
        if first is not None:
            if first.label != label:
                conflicted.add(text)
                problems.append(f"{where}: text {text[:60]!r} is labelled {label!r} here but "
                                f"{first.label!r} at {first.source} line {first.line}; fix "
                                "or remove one of them")
            else:
                duplicates += 1
            continue
        example = Example(text, label, row.source, row.line)
        seen[text] = example
        examples.append(example)
    if problems and not skip_invalid:
        raise _problems_error(problems, "the labelled data")
    if problems:
        examples = [e for e in examples if e.text not in conflicted]
        log.warning("skipped %d invalid row(s) (and %d text(s) with conflicting labels): %s",
                    len(problems), len(conflicted), str(_problems_error(problems, "the data")))
    if duplicates:
        log.info("dropped %d exact duplicate row(s)", duplicates)
    return examples


def check_class_counts(examples: Sequence[Example], labels: tuple[str, ...], *,
                       min_per_class: int, what: str) -> None:
    """Every label needs at least min_per_class examples (training and validation both)."""
    counts = Counter(e.label for e in examples)
    few = [f"{label!r} has {counts.get(label, 0)}" for label in labels
           if counts.get(label, 0) < min_per_class]
    if few:
        raise DataError(f"too few examples per class in {what}: {'; '.join(few)}; each of the "
                        f"{len(labels)} labels needs at least {min_per_class} (some to train "
                        "on, some to validate on): add labelled rows for those classes")


def load_labelled(paths: Sequence[Path], task: str, labels: tuple[str, ...], *,
                  text_column: str | None = None, label_column: str | None = None,
                  label_map: dict[str, str] | None = None, engine: Engine | None = None,
                  min_per_class: int = 0, skip_invalid: bool = False) -> LabelledData:
    """Read, map and validate labelled files (and DB labels when engine is given); with
    skip_invalid, rows that fail validation are dropped with a warning instead of refused."""
    resolver = LabelResolver(labels, label_map)
    rows: list[RawRow] = []
    sources: list[DataSource] = []
    for path in paths:
        file_rows = read_rows(Path(path), task, text_column=text_column,
                              label_column=label_column)
        if not file_rows:
            raise DataError(f"{path} has no labelled rows")
        rows.extend(file_rows)
        sources.append(DataSource(str(path), sha256_file(Path(path)), len(file_rows)))
    if engine is not None:
        db_rows = rows_from_db(engine, task)
        if not db_rows:
            raise DataError(f"--from-db: the database has no {task} labels yet; label "
                            "articles in the dashboard first")
        rows.extend(db_rows)
        sources.append(DataSource(DB_SOURCE, None, len(db_rows)))
    if not rows:
        raise DataError("no labelled data given; pass --data FILE and/or --from-db")
    examples = validate_rows(rows, resolver, skip_invalid=skip_invalid)
    if min_per_class:
        check_class_counts(examples, labels, min_per_class=min_per_class,
                           what=", ".join(s.path for s in sources))
    return LabelledData(task, labels, tuple(examples), tuple(sources))


def rows_from_db(engine: Engine, task: str) -> list[RawRow]:
    """The labels table's rows for a task as RawRows (line = label id)."""
    from monitor.store.labels import list_labels

    with engine.connect() as conn:
        return [RawRow(r.text, r.label, DB_SOURCE, r.id) for r in list_labels(conn, task)]


def stratified_split(examples: Sequence[Example], eval_fraction: float,
                     seed: int) -> tuple[list[Example], list[Example]]:
    """(train, validation): per class, a seeded shuffle of the text-sorted examples.

    Depends only on the examples' content and the seed, not on file order; every class with
    two or more examples keeps at least one on each side.
    """
    if not 0 < eval_fraction < 1:
        raise DataError(f"eval fraction must be between 0 and 1, got {eval_fraction}")
    by_label: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        by_label[e.label].append(e)
    rng = random.Random(seed)
    train: list[Example] = []
    val: list[Example] = []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda e: e.text)
        rng.shuffle(group)
        n_val = round(len(group) * eval_fraction)
        if len(group) >= 2:
            n_val = min(max(n_val, 1), len(group) - 1)
        val.extend(group[:n_val])
        train.extend(group[n_val:])
    rng.shuffle(train)
    return train, sorted(val, key=lambda e: (e.label, e.text))
