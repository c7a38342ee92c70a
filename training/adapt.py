"""Domain adaptation: continue a base encoder's masked-language-model training on unlabelled
in-domain text (headlines, news sentences) and save the result as a new base-model folder.

The packaged MiniLM was trained for general sentence similarity; a few epochs of masked-LM
on financial text move its token representations toward the domain before any labels are
seen (domain-adaptive pre-training, Gururangan et al. 2020). The saved folder is an ordinary
base model: set model.base_model (or `train --base-model`) to it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.errors import DataError, ModelError
from monitor.scoring.artifact import write_wordpiece_vocab
from monitor.scoring.base_model import BaseModelSpec, from_pretrained, sha256_file
from training.device import check_threads, precision, training_device
from training.optim import length_grouped_batches, run_epoch, scheduled_adamw, steps_per_epoch

log = logging.getLogger(__name__)

CARD = "adaptation.json"
MIN_TEXTS = 100  # fewer texts teach the encoder nothing and only disturb it


@dataclass(frozen=True)
class AdaptParams:
    """Masked-LM hyper-parameters (BERT's: 15 % of tokens masked, 80/10/10 replacement)."""

    epochs: int = 3
    lr: float = 5e-5
    batch_size: int | None = None  # None: 32 on CPU, 128 on a GPU
    max_length: int = 64
    mask_probability: float = 0.15
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    seed: int = 13
    threads: int | None = None  # CPU threads; None = torch's default (OMP_NUM_THREADS)


@dataclass(frozen=True)
class Adapted:
    """An adapted base model folder and how it was made."""

    folder: Path
    texts: int
    losses: tuple[float, ...]  # mean masked-LM loss per epoch
    seconds: float
    device: str


def check_adapt(texts: Sequence[str], params: AdaptParams, out: Path) -> None:
    """Refuse, before any work, what would waste an adaptation run or overwrite a folder."""
    if len(texts) < MIN_TEXTS:
        raise DataError(f"domain adaptation needs at least {MIN_TEXTS} distinct texts, got "
                        f"{len(texts)}; give more --data files")
    if params.epochs < 1:
        raise DataError(f"--epochs must be at least 1, got {params.epochs}")
    check_threads(params.threads)
    if not 0 < params.mask_probability < 1:
        raise DataError(f"--mask-probability must be in (0, 1), got {params.mask_probability}")
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out} exists and is not empty; name a new folder with --out")


def adapt(base: BaseModelSpec, texts: Sequence[str], out: Path, params: AdaptParams, *,
          now: datetime, device: Any = None, progress: bool = True) -> Adapted:
    """Masked-LM training of base's encoder on texts; the encoder (with base's own pooler,
    which masked-LM does not train) and tokenizer are saved to out with a card."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, set_seed

    check_adapt(texts, params, out)
    started = time.monotonic()
    set_seed(params.seed)
    # Masked-LM batches are cheaper than classification ones: a bigger default on a GPU.
    device, batch_size = training_device(device, params.threads, params.batch_size,
                                         gpu_batch=128)
    tokenizer = from_pretrained(AutoTokenizer, base)
    # A sentence encoder ships no masked-LM head: transformers adds a fresh one (its output
    # matrix tied to the word embeddings); its report of the new weights is silenced.
    mlm = from_pretrained(AutoModelForMaskedLM, base, quiet=True).to(device).train()
    losses = _train_mlm(mlm, tokenizer, texts, params, batch_size, device, progress)
    _save_encoder(base, mlm, tokenizer, out)
    seconds = time.monotonic() - started
    card = {"adapted_from": {"name": base.name, "spec": base.spec, "sha256": base.sha256},
            "texts": len(texts), "hyperparameters": {**asdict(params), "batch_size": batch_size,
                                                     "device": device.type},
            "masked_lm_loss": [round(x, 4) for x in losses],
            "weights_sha256": sha256_file(out / "model.safetensors"),
            "created_at": now.isoformat(), "project_version": __version__,
            "seconds": round(seconds, 1)}
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return Adapted(out, len(texts), tuple(losses), seconds, device.type)


def _train_mlm(mlm: Any, tokenizer: Any, texts: Sequence[str], params: AdaptParams,
               batch_size: int, device: Any, progress: bool) -> list[float]:
    """The masked-LM epochs (length-grouped batches, warm-up then linear decay); returns the
    mean loss of each epoch."""
    import torch
    from tqdm.auto import tqdm
    from transformers import DataCollatorForLanguageModeling

    enc = tokenizer(list(texts), truncation=True, max_length=params.max_length)["input_ids"]
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=params.mask_probability,
                                              seed=params.seed)
    generator = torch.Generator().manual_seed(params.seed)
    lengths = [len(ids) for ids in enc]
    optimizer, scheduler = scheduled_adamw(mlm, steps_per_epoch(lengths, batch_size),
                                           epochs=params.epochs,
                                           lr=params.lr, weight_decay=params.weight_decay,
                                           warmup_ratio=params.warmup_ratio)
    autocast, scaler = precision(device)
    trainable = list(mlm.parameters())

    def batch_loss(idx: list[int]) -> Any:
        batch = collate([{"input_ids": enc[i]} for i in idx]).to(device)
        if not bool((batch["labels"] != -100).any()):
            return None  # nothing masked (a few short texts): the loss would be NaN
        with autocast:
            return mlm(**batch).loss

    losses: list[float] = []
    for epoch in range(1, params.epochs + 1):
        losses.append(run_epoch(length_grouped_batches(lengths, batch_size, generator),
                                batch_loss, optimizer, scheduler, scaler, trainable,
                                f"adapt epoch {epoch}/{params.epochs}", progress))
        line = f"adapt epoch {epoch}: masked-LM loss {losses[-1]:.4f}"
        log.info("%s", line)
        if progress:
            tqdm.write(line)
    return losses


def _save_encoder(base: BaseModelSpec, mlm: Any, tokenizer: Any, out: Path) -> None:
    """Save the trained encoder into a copy of the base (which keeps the base's pooler)."""
    from transformers import AutoModel

    encoder = from_pretrained(AutoModel, base)
    missing, unexpected = encoder.load_state_dict(mlm.base_model.state_dict(), strict=False)
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise ModelError(f"{base.name}: its masked-LM encoder does not match the base model "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_wordpiece_vocab(out)
