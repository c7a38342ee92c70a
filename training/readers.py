"""Read labelled files (CSV, TSV, JSONL, Financial PhraseBank .txt) into raw rows with lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import DataError

TEXT_COLUMNS = ("text", "sentence", "headline", "title")
LABEL_COLUMNS = {"sentiment": ("sentiment", "label", "topic"),
                 "topic": ("topic", "label", "sentiment")}
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".txt": "fpb"}


@dataclass(frozen=True)
class RawRow:
    """One row as read: its text and raw label, and where it came from (1-based line)."""

    text: str
    label: str
    source: str
    line: int


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use .csv, "
                        ".tsv, .jsonl or a Financial PhraseBank sentence@label .txt file")
    return fmt


def read_rows(path: Path, task: str, *, text_column: str | None = None,
              label_column: str | None = None, labelled: bool = True) -> list[RawRow]:
    """All rows of a labelled file, columns detected by name unless given.

    labelled=False reads texts only (unlabelled data for self-training): no label column is
    looked for and every row's label is empty.
    """
    if not path.is_file():
        raise DataError(f"data file {path} not found")
    fmt = file_format(path)
    if fmt == "fpb":
        return list(_read_fpb(path))
    text = _decode_utf8(path)
    if fmt == "jsonl":
        return list(_read_jsonl(path, text, task, text_column, label_column, labelled))
    return list(_read_delimited(path, text, "\t" if fmt == "tsv" else ",", task,
                                text_column, label_column, labelled))


def _decode_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise DataError(f"{path} line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at "
                        f"offset {err.start}); re-save the file as UTF-8") from None


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...], kind: str,
          path: Path, flag: str) -> str:
    found = ", ".join(repr(c) for c in columns) or "(none)"
    by_lower = {c.strip().lower(): c for c in columns}
    if wanted is not None:
        if wanted in columns:
            return wanted
        if wanted.lower() in by_lower:
            return by_lower[wanted.lower()]
        raise DataError(f"{path}: no column {wanted!r} (given with {flag}); columns found: {found}")
    for name in candidates:
        if name in by_lower:
            return by_lower[name]
    raise DataError(f"{path}: no {kind} column (looked for {', '.join(candidates)}); columns "
                    f"found: {found}; name it with {flag}")


def _read_delimited(path: Path, text: str, delimiter: str, task: str, text_column: str | None,
                    label_column: str | None, labelled: bool) -> Iterator[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path} is empty; expected a header row and labelled rows") from None
    except csv.Error as err:
        raise DataError(f"{path} line 1: {err}") from None
    t_col = _pick(header, text_column, TEXT_COLUMNS, "text", path, "--text-column")
    t_idx = header.index(t_col)
    l_idx = header.index(_pick(header, label_column, LABEL_COLUMNS.get(task, ("label",)),
                               "label", path, "--label-column")) if labelled else t_idx
    start = reader.line_num + 1
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                if len(row) <= max(t_idx, l_idx):
                    raise DataError(f"{path} line {start}: {len(row)} fields, expected "
                                    f"{len(header)} (columns {', '.join(header)})")
                yield RawRow(row[t_idx], row[l_idx] if labelled else "", str(path), start)
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataError(f"{path} line {start}: {err}") from None


def _read_jsonl(path: Path, text: str, task: str, text_column: str | None,
                label_column: str | None, labelled: bool) -> Iterator[RawRow]:
    t_col = l_col = None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path} line {n}: not valid JSON ({err.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path} line {n}: expected a JSON object, got {type(obj).__name__}")
        if t_col is None or l_col is None:
            keys = list(obj)
            t_col = _pick(keys, text_column, TEXT_COLUMNS, "text", path, "--text-column")
            l_col = _pick(keys, label_column, LABEL_COLUMNS.get(task, ("label",)), "label",
                          path, "--label-column") if labelled else t_col
        if t_col not in obj or l_col not in obj:
            raise DataError(f"{path} line {n}: missing key {t_col if t_col not in obj else l_col!r}"
                            f"; keys found: {', '.join(obj)}")
        text_value, label_value = obj[t_col], obj[l_col] if labelled else ""
        yield RawRow("" if text_value is None else str(text_value),
                     "" if label_value is None else str(label_value), str(path), n)


def _read_fpb(path: Path) -> Iterator[RawRow]:
    """Financial PhraseBank: one `sentence@label` per line, latin-1 (UTF-8 copies accepted)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the original release's encoding; never fails
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sentence, sep, label = line.rpartition("@")
        if not sep:
            raise DataError(f"{path} line {n}: no '@' separator; Financial PhraseBank .txt "
                            f"lines are sentence@label (got {line[:60]!r})")
        yield RawRow(sentence, label, str(path), n)
