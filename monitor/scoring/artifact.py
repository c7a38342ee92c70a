"""A model version on disk: save it atomically, verify it, load it (safetensors only).

A version folder holds the weights (``model.safetensors``), the tokenizer files, the
transformers ``config.json`` (with id2label / label2id) and ``card.json``. The card names the
task, the labels in id order, and the sha256 of every file written, so a truncated copy, a
flipped byte or a hand-edited label map is caught before a model scores anything.

torch and transformers are imported inside the functions that need them: verifying a folder
(the registry, the dashboard) must not load them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import __version__
from monitor.errors import ModelError

if TYPE_CHECKING:
    from monitor.scoring.lexical import LexicalModel

log = logging.getLogger(__name__)

CARD_FILE = "card.json"
CONFIG_FILE = "config.json"
WEIGHTS_SUFFIX = ".safetensors"
CARD_FORMAT = 1
# Files a version must never contain: pickled weights can run code when loaded.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_FIX = "re-create it with `finsentinel train` or activate another version " \
       "(`finsentinel models list`, `finsentinel models activate VERSION`)"


@dataclass(frozen=True)
class LoadedModel:
    """A verified version in memory: the transformers model and tokenizer plus its card,
    and the lexical model its probabilities are blended with, if it has one."""

    model: Any
    tokenizer: Any
    card: dict[str, Any]
    labels: tuple[str, ...]
    version: str
    task: str
    path: Path | None = None
    lexical: LexicalModel | None = None

    def max_length(self, default: int) -> int:
        """Tokens to read per text: the length the version was trained and validated at
        (its card's), so the monitor scores what `evaluate` measured; default for cards
        that do not record one."""
        recorded = self.card.get("max_length")
        return int(recorded) if isinstance(recorded, int) and recorded > 0 else default


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _id2label(model: Any) -> dict[int, str]:
    raw = getattr(model.config, "id2label", None) or {}
    return {int(k): str(v) for k, v in raw.items()}


def save_version(model: Any, tokenizer: Any, card: dict[str, Any], dest: Path, *,
                 lexical: LexicalModel | None = None) -> Path:
    """Write model, tokenizer, config, card (and the lexical model, if any) into the new
    folder dest, atomically.

    The card must name the task; its ``labels`` (if given) must equal the model's id2label
    in id order. Adds version (dest's name unless given), labels, files with their sha256,
    weights file names, format and project version. Files are written to a temporary folder
    beside dest, then renamed, so a crash never leaves a half-written version.
    """
    dest = Path(dest)
    if dest.exists():
        raise ModelError(f"model version folder {dest} already exists; versions are never "
                         "overwritten, pick a new version id")
    task, labels = _checked_labels(model, card)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        weights = _write_model_files(tmp, model, tokenizer, labels, lexical)
        full = {**card, "version": card.get("version") or dest.name, "task": task,
                "labels": labels, "weights": weights, "files": _file_hashes(tmp),
                "format": CARD_FORMAT}
        full.setdefault("project_version", __version__)
        (tmp / CARD_FILE).write_text(json.dumps(full, indent=2, sort_keys=True, default=str),
                                     encoding="utf-8")
        _fsync_tree(tmp)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("saved model version %s (%s, %d labels) to %s", full["version"], task,
             len(labels), dest)
    return dest


def _checked_labels(model: Any, card: dict[str, Any]) -> tuple[str, list[str]]:
    """(card's task, labels in id order) of a model about to be saved, after writing its
    config's id2label and label2id in canonical form; raises when the card names no task or
    the card's labels and the model's id2label disagree."""
    task = card.get("task")
    if not task:
        raise ModelError("the model card has no 'task' (expected 'sentiment' or 'topic')")
    id2label = _id2label(model)
    labels = [id2label[i] for i in sorted(id2label)]
    if sorted(id2label) != list(range(len(labels))) or not labels:
        raise ModelError(f"model config id2label {id2label} must map ids 0..n-1 to labels")
    if card.get("labels") is not None and list(card["labels"]) != labels:
        raise ModelError(f"card labels {card['labels']} differ from the model's id2label "
                         f"{labels}; set model.config.id2label from the card's labels")
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {lab: i for i, lab in enumerate(labels)}
    return task, labels


def _write_model_files(tmp: Path, model: Any, tokenizer: Any, labels: list[str],
                       lexical: LexicalModel | None) -> list[str]:
    """Save model, tokenizer (with vocab.txt) and the lexical model into tmp, with no pickled
    files left; returns the weights file names."""
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    write_wordpiece_vocab(tmp)
    _drop_unsafe_files(tmp)
    weights = sorted(p.name for p in tmp.iterdir() if p.name.endswith(WEIGHTS_SUFFIX))
    if not weights:
        raise ModelError(f"saving the model wrote no {WEIGHTS_SUFFIX} weights into {tmp}")
    if lexical is not None:  # after the weights list: its arrays are not the encoder's
        if list(lexical.labels) != labels:
            raise ModelError(f"the lexical model's labels {list(lexical.labels)} differ "
                             f"from the model's {labels}")
        lexical.save(tmp)
    return weights


def _file_hashes(folder: Path) -> dict[str, str]:
    """{path relative to folder: sha256} of every file under folder, in path order."""
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_wordpiece_vocab(folder: Path) -> None:
    """Add vocab.txt (one token per line, in id order) beside a WordPiece tokenizer.json.

    transformers 5 saves the fast tokenizer's tokenizer.json only; BERT tools outside it (and
    older loaders) look for vocab.txt. Other tokenizer kinds, or a vocabulary with gaps in
    its ids, are left as they are.
    """
    spec_file, vocab_file = folder / "tokenizer.json", folder / "vocab.txt"
    if vocab_file.exists() or not spec_file.is_file():
        return
    model = json.loads(spec_file.read_text(encoding="utf-8")).get("model") or {}
    if model.get("type") != "WordPiece":
        return
    tokens = sorted(model.get("vocab", {}).items(), key=lambda item: item[1])
    if [i for _, i in tokens] != list(range(len(tokens))):
        return
    vocab_file.write_text("".join(f"{token}\n" for token, _ in tokens), encoding="utf-8")


def _drop_unsafe_files(folder: Path) -> None:
    for p in list(folder.rglob("*")):
        if p.is_file() and p.name.endswith(_PICKLE_SUFFIXES):
            p.unlink()


def _fsync_tree(folder: Path) -> None:
    # The rename is only atomic for data already on disk.
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


def read_card(path: Path) -> dict[str, Any]:
    """The parsed card of a version folder, checked for the keys the monitor relies on."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model version folder {path} does not exist or is not a folder; "
                         + _FIX)
    card_path = path / CARD_FILE
    if not card_path.is_file():
        raise ModelError(f"model version folder {path} has no {CARD_FILE} (incomplete or not "
                         "a model version); " + _FIX)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"{card_path} is not valid JSON ({err}); the card is corrupt; "
                         + _FIX) from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_path} must hold a JSON object, found {type(card).__name__}; "
                         + _FIX)
    for key, kind in (("task", str), ("version", str), ("labels", list), ("files", dict),
                      ("weights", list)):
        if not isinstance(card.get(key), kind) or not card.get(key):
            raise ModelError(f"{card_path}: key {key!r} is missing or not a {kind.__name__}; "
                             + _FIX)
    return card


def verify_version(path: Path) -> dict[str, Any]:
    """Check a version folder without loading it: card, files present, sha256, id2label.

    Returns the card. Raises ModelError naming the file and what is wrong.
    """
    path = Path(path)
    card = read_card(path)
    for name, expected in card["files"].items():
        f = path / name
        if not f.is_file():
            raise ModelError(f"model version {card['version']}: file {f} listed in the card is "
                             "missing (incomplete copy?); " + _FIX)
        got = sha256_file(f)
        if got != expected:
            raise ModelError(f"model version {card['version']}: {f} fails its sha256 check "
                             f"(card {expected[:12]}..., file {got[:12]}...); the file is "
                             "corrupt or was changed; " + _FIX)
    for w in card["weights"]:
        if w not in card["files"]:
            raise ModelError(f"{path / CARD_FILE}: weights file {w} has no sha256 in 'files'; "
                             + _FIX)
    _check_config_labels(path, card)
    return card


def _check_config_labels(path: Path, card: dict[str, Any]) -> None:
    cfg_path = path / CONFIG_FILE
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        id2label = {int(k): str(v) for k, v in cfg["id2label"].items()}
    except FileNotFoundError:
        raise ModelError(f"model version folder {path} has no {CONFIG_FILE}; " + _FIX) from None
    except (json.JSONDecodeError, KeyError, ValueError, AttributeError, TypeError) as err:
        raise ModelError(f"{cfg_path} has no usable id2label ({err!r}); " + _FIX) from None
    labels = [id2label.get(i) for i in range(len(id2label))]
    if labels != list(card["labels"]):
        raise ModelError(f"{cfg_path}: id2label {labels} does not match the card's labels "
                         f"{card['labels']}; the model would report wrong labels; " + _FIX)


def load_version(path: Path) -> LoadedModel:
    """Verify and load a version folder (CPU, eval mode); ModelError when it is unusable."""
    path = Path(path)
    card = verify_version(path)
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
    except ModelError:
        raise
    except Exception as err:  # transformers raises many types for a broken folder
        raise ModelError(f"model version {card['version']} in {path} could not be loaded: "
                         f"{type(err).__name__}: {err}; " + _FIX) from None
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, card=card,
                       labels=tuple(card["labels"]), version=card["version"],
                       task=card["task"], path=path, lexical=_lexical_of(path, card))


def _lexical_of(path: Path, card: dict[str, Any]) -> LexicalModel | None:
    from monitor.scoring.lexical import SPEC_FILE, load_lexical

    # Only what the card lists (and so hashed): a stray file dropped in later is ignored.
    if SPEC_FILE not in card["files"]:
        return None
    return load_lexical(path, card["labels"], f"model version {card['version']}: " + _FIX)
