"""Helpers for the training tests: small labelled rows and files, the tiny model's vocabulary,
fast training settings."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from monitor.config_sections import DEFAULT_TOPICS
from training.train import TrainParams

# Training settings that fit the tiny model on the tiny sets in seconds.
FAST = TrainParams(epochs=3, lr=5e-3, batch_size=8, max_length=16, eval_fraction=0.25,
                   patience=3, min_per_class=4)

# Words of the tiny labelled sets; each sentiment has its own cue words so a tiny model can
# learn them in a few epochs.
CUES = {
    "positive": ("profit rises", "shares jump", "record sales", "upgrade lifts", "beats"),
    "negative": ("loss widens", "shares slump", "weak sales", "downgrade hits", "misses"),
    "neutral": ("meeting scheduled", "report due", "board meets", "results date", "holds"),
}
COMPANIES = ("acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne")
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def sentiment_rows(per_class: int = 12) -> list[tuple[str, str]]:
    rows = []
    for label, cues in CUES.items():
        for i in range(per_class):
            rows.append((f"{COMPANIES[i % len(COMPANIES)]} {cues[i % len(cues)]} "
                         f"{'today' if i < len(cues) else 'again'} {i}", label))
    return rows


def write_bootstrap_file(folder: Path, config: Path,
                         topics: Sequence[str]) -> list[tuple[str, ...]]:
    """A small file in the bootstrap format (text, sentiment, topic), named in config's
    [model] bootstrap_data (the last section of the file); returns its rows."""
    rows = [(f"{topic} news {i} {cue}", sentiment, topic) for topic in topics
            for i, (cue, sentiment) in enumerate(
                [("up", "positive"), ("down", "negative"), ("flat", "neutral")] * 2)]
    write_csv(folder / "boot.csv", rows, header=("text", "sentiment", "topic"))
    config.write_text(config.read_text("utf-8") + 'bootstrap_data = "boot.csv"\n',
                      encoding="utf-8")
    return rows


def write_csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("text", "label"),
              delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def vocab_words() -> list[str]:
    words: set[str] = set(COMPANIES) | {"today", "again", "-", ",", ".", "|", "'", "$", "%"}
    for cues in CUES.values():
        for cue in cues:
            words.update(cue.split())
    words.update(t.lower() for topic in DEFAULT_TOPICS for t in topic.replace("|", " ").split())
    words.update(str(i) for i in range(40))
    words.update("abcdefghijklmnopqrstuvwxyz")
    words.update(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789")
    return sorted(words)


def write_cli_config(tmp_path: Path, base: Path, model_lines: str = "") -> Path:
    """A config.toml for CLI tests: a SQLite file and a registry in tmp_path, `base` as the
    base model; model_lines are added to the [model] section."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "fs.db"}"\n\n[model]\n'
                   f'base_model = "{base}"\nregistry_dir = "models"\n{model_lines}',
                   encoding="utf-8")
    return cfg
