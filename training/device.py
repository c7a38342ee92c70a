"""Where a training run computes: the device, its CPU threads, its numeric precision."""

from __future__ import annotations

import logging
from typing import Any

from monitor.errors import DataError, ModelError

log = logging.getLogger(__name__)


def pick_device(preference: str = "auto") -> Any:
    import torch

    if preference == "cuda" and not torch.cuda.is_available():
        raise ModelError("model.device is 'cuda' but torch sees no CUDA GPU; install a CUDA "
                         "build of torch or set model.device = 'auto'")
    if preference == "mps" and not torch.backends.mps.is_available():
        raise ModelError("model.device is 'mps' but this torch build has no MPS support")
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    if preference == "mps" or (preference == "auto" and torch.backends.mps.is_available()):
        return torch.device("mps")
    return torch.device("cpu")


def training_device(device: Any, threads: int | None, batch_size: int | None, *,
                    gpu_batch: int) -> tuple[Any, int]:
    """(device, batch size) for a training run: the given device or the best present, CPU
    threads set up, and batch_size or the device's default (gpu_batch on a GPU, else 32)."""
    device = device or pick_device()
    if device.type == "cpu":
        setup_threads(threads)
    return device, batch_size or (gpu_batch if device.type == "cuda" else 32)


def check_threads(threads: int | None) -> None:
    if threads is not None and threads < 1:
        raise DataError(f"--threads must be at least 1, got {threads}")


def setup_threads(threads: int | None) -> None:
    """Use `threads` intra-op threads; None keeps torch's default (physical cores, or
    OMP_NUM_THREADS when set), which is what a shared machine can lower from outside."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    log.info("training on the CPU with %d thread(s)", torch.get_num_threads())


def precision(device: Any) -> tuple[Any, Any]:
    """(autocast context, grad scaler): bf16 or fp16 on CUDA, full precision elsewhere."""
    import contextlib

    import torch

    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.autocast("cuda", dtype=torch.bfloat16), torch.amp.GradScaler(
                "cuda", enabled=False)
        return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")
    return contextlib.nullcontext(), torch.amp.GradScaler("cpu", enabled=False)
