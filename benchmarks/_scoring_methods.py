"""The scoring methods under test as warmed-up runners, and their interleaved timing.

A runner is (texts scored, score them once, a small warm-up call); per task: the naive
pipeline, fp32 torch batches, int8 ONNX; over both tasks: one shared encoder pass, plain or
with each version's lexical blend.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

# (texts scored, score them once, a small warm-up call)
Runner = tuple[int, Callable[[], Any], Callable[[], Any]]


def _one_at_a_time(pipe: Any, texts: list[str]) -> list[Any]:
    return [pipe(t) for t in texts]


def make_runners(folders: Sequence[Path], texts: list[str], naive_n: int, batch_size: int,
                 max_length: int, methods: Sequence[str],
                 threads: int = 0) -> tuple[dict[tuple[str, str], Runner], list[str]]:
    """((task, method) -> runner, each warmed up once; notes on methods left out). The
    shared method scores both tasks in one runner, keyed ("both", "shared")."""
    from monitor.scoring.artifact import load_version
    from monitor.scoring.classifier import resolve_device

    device = resolve_device("auto")
    runners: dict[tuple[str, str], Runner] = {}
    models = []
    for folder in folders:
        loaded = load_version(folder)
        models.append(loaded)
        runners.update(_task_runners(loaded, texts, naive_n, batch_size, max_length, methods,
                                     threads, device))
    notes = []
    for method in ("shared", "lexical"):
        if method in methods:
            runner, note = shared_runner(models, texts, batch_size, max_length, device,
                                         threads, lexical=method == "lexical")
            if runner is not None:
                runners["both", method] = runner
            if note:
                notes.append(note)
    for _n, _run, warm_up in runners.values():
        warm_up()
    return runners, notes


def _task_runners(loaded: Any, texts: list[str], naive_n: int, batch_size: int,
                  max_length: int, methods: Sequence[str], threads: int,
                  device: str) -> dict[tuple[str, str], Runner]:
    """One version's per-task runners: naive, fp32, and int8 (CPU only), those in methods."""
    from transformers import pipeline

    from monitor.scoring.classifier import OnnxClassifier, TorchClassifier
    from monitor.scoring.onnx_cache import ensure_int8_onnx

    runners: dict[tuple[str, str], Runner] = {}
    task = loaded.task
    if "naive" in methods:
        pipe = pipeline("text-classification", model=loaded.model,
                        tokenizer=loaded.tokenizer, device=device, truncation=True,
                        max_length=max_length)
        some = texts[:naive_n]
        runners[task, "naive"] = (len(some), partial(_one_at_a_time, pipe, some),
                                  partial(_one_at_a_time, pipe, some[:4]))
    if "fp32" in methods:
        clf = TorchClassifier(loaded, device=device, batch_size=batch_size,
                              max_length=max_length)
        runners[task, "fp32"] = (len(texts), partial(clf.predict_proba, texts),
                                 partial(clf.predict_proba, texts[:batch_size]))
    onnx_path = ensure_int8_onnx(loaded) if device == "cpu" else None
    if "int8" in methods and onnx_path is not None:
        oclf = OnnxClassifier(onnx_path, tokenizer=loaded.tokenizer, labels=loaded.labels,
                              version=loaded.version, task=task, batch_size=batch_size,
                              max_length=max_length, threads=threads)
        runners[task, "int8"] = (len(texts), partial(oclf.predict_proba, texts),
                                 partial(oclf.predict_proba, texts[:batch_size]))
    return runners


def _both(views: dict[str, Any], texts: list[str]) -> tuple[Any, ...]:
    return tuple(views[t].predict_proba(texts) for t in ("sentiment", "topic"))


def shared_runner(models: Sequence[Any], texts: list[str], batch_size: int, max_length: int,
                  device: str, threads: int,
                  lexical: bool = False) -> tuple[Runner | None, str]:
    """One pass for both tasks (int8 ONNX on CPU, torch autocast on a GPU; two heads), with
    lexical each version's lexical blend too, or None and why it was left out."""
    from monitor.config import config_from_dict
    from monitor.scoring.classifier import with_lexical
    from monitor.scoring.encoder_match import why_not_shared
    from monitor.scoring.shared import make_shared_pair, onnx_shared_pair

    by_task = {m.task: m for m in models}
    if set(by_task) != {"sentiment", "topic"}:
        return None, "shared: needs one sentiment and one topic version"
    if lexical and any(m.lexical is None for m in models):
        return None, "lexical: not measured, a version has no lexical model"
    pair_models = [by_task["sentiment"], by_task["topic"]]
    reason = why_not_shared(*pair_models)
    if reason is not None:
        return None, f"shared: not measured, these versions do not share an encoder ({reason})"
    if device == "cpu":
        pair = onnx_shared_pair(pair_models, batch_size=batch_size, max_length=max_length,
                                threads=threads)
    else:  # what the monitor builds on this device
        pair = make_shared_pair(pair_models, config_from_dict({"model": {
            "device": device, "batch_size": batch_size, "max_length": max_length}}))
    if pair is None:
        return None, "shared: the shared pass could not be built (see the log)"
    views = pair.views()
    if lexical:
        views = {m.task: with_lexical(views[m.task], m) for m in pair_models}
    return (len(texts), partial(_both, views, texts),
            partial(_both, views, texts[:batch_size])), ""


def time_interleaved(runners: dict[tuple[str, str], Runner],
                     rounds: int) -> tuple[dict[tuple[str, str], float], dict[str, Any]]:
    """Median texts/s per (task, method); rounds interleave methods so that load from other
    processes on a shared machine hits every method alike. Also the last outputs."""
    rates: dict[tuple[str, str], list[float]] = {k: [] for k in runners}
    outputs: dict[str, Any] = {}
    for r in range(rounds):
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        for key, (n, run, _warm_up) in runners.items():
            start = time.perf_counter()
            outputs["/".join(key)] = run()
            rates[key].append(n / (time.perf_counter() - start))
    return {k: statistics.median(v) for k, v in rates.items()}, outputs
