"""The accuracy benchmark's run modes: one dataset, self-training, soup, joint heads, adaptation.

Each run returns result rows (name, target, train/val/test sizes, seconds, best epoch, held-out
metrics, baseline metrics) for the summary table in accuracy.py, and prints its own progress.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from _accuracy_data import (
    DATASETS,
    Dataset,
    baseline,
    held_out,
    pseudo_texts,
    split,
    train_val_test,
)
from _accuracy_eval import fit_and_test, test_metrics, with_lexical

from monitor.scoring.base_model import resolve_base_model
from training.adapt import AdaptParams
from training.data import Example
from training.evaluate import format_metrics, metrics_report, predict_proba
from training.train import TrainParams


def adapted_base(base_model: str, params: AdaptParams, *, quick: bool,
                 out: str | None) -> str:
    """Domain-adapt the base on the texts of every dataset found (labels unused) except any
    dataset's held-out rows, so no test text is seen; returns the adapted folder."""
    import tempfile
    from datetime import UTC, datetime

    from training.adapt import adapt
    from training.pseudo import candidate_texts

    texts, held = [], set()
    for ds in DATASETS.values():
        if ds.path.is_file():
            rest, test = split(ds)
            texts += [e.text for e in rest]
            held |= {e.text for e in test}
    texts = candidate_texts(texts, held)
    random.Random(params.seed).shuffle(texts)
    if quick:
        texts = texts[:400]
    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix="finsentinel-adapted-")) / "base"
    print(f"\n=== domain adaptation: masked-LM on {len(texts)} texts, {params.epochs} epochs, "
          f"lr {params.lr} ===", flush=True)
    done = adapt(resolve_base_model(base_model), texts, folder, params, now=datetime.now(UTC))
    print(f"adapted in {done.seconds:.0f} s on {done.device}: masked-LM loss per epoch "
          + " ".join(f"{x:.3f}" for x in done.losses) + f"; saved to {folder}", flush=True)
    return str(folder)


def run_soup(ds: Dataset, params: TrainParams, *, quick: bool, max_train: int | None,
             base_model: str, members: int, no_baseline: bool = False) -> list[dict]:
    """Model soup (training.soup, `train --soup K`): each run, the average of their
    predictions (K times the scoring cost) and the soup are tested on the held-out rows."""
    import numpy as np

    from training.soup import make_soup

    train, val, test = train_val_test(ds, params, quick=quick, max_train=max_train)
    started = time.monotonic()
    out = make_soup(resolve_base_model(base_model), train, val, ds.labels, params,
                    members=members)
    seconds = time.monotonic() - started
    texts, gold = [e.text for e in test], [e.label for e in test]
    probs = []
    for k, f in enumerate(out.members):
        probs.append(predict_proba(f.model, out.tokenizer, texts, max_length=params.max_length))
        m = metrics_report(gold, [ds.labels[int(i)] for i in probs[-1].argmax(axis=1)],
                           ds.labels)
        print(f"run {k + 1} (seed {params.seed + k}, best epoch {f.best_epoch}): accuracy "
              f"{m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}", flush=True)
    mean = np.mean(probs, axis=0)
    m = metrics_report(gold, [ds.labels[int(i)] for i in mean.argmax(axis=1)], ds.labels)
    print(f"mean of the {members} runs' predictions ({members}x the scoring cost): accuracy "
          f"{m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}", flush=True)
    print(f"validation: soup {out.summary['soup_validation']}, kept the {out.summary['kept']}")
    metrics = test_metrics(out.soup.model, out.tokenizer, test, ds, params.max_length)
    return [{"name": f"{ds.name} soup of {members}", "target": ds.target,
             "n_train": len(train), "n_val": len(val), "n_test": len(test),
             "seconds": seconds, "best_epoch": max(f.best_epoch for f in out.members),
             "metrics": metrics,
             "baseline": baseline(train + val, test, ds.labels, skip=no_baseline)}]


def run_dataset(ds: Dataset, params: TrainParams, *, quick: bool, max_train: int | None,
                base_model: str, augment: tuple[Dataset, ...] = (),
                pseudo: tuple[Dataset, ...] = (), min_confidence: float = 0.9,
                no_baseline: bool = False) -> list[dict]:
    train, val, test = train_val_test(ds, params, quick=quick, max_train=max_train)
    # Extra in-domain training rows from other datasets of the same task (their own
    # held-out parts stay out); validation and test stay on this dataset only.
    seen = {e.text for e in val + test}
    for extra in augment:
        train += [e for e in split(extra)[0] if e.text not in seen]
    random.Random(params.seed).shuffle(train)
    result, tokenizer, metrics = fit_and_test(ds, train, val, test, params, base_model)
    seconds = result.seconds
    base_metrics = baseline(train + val, test, ds.labels, skip=no_baseline)
    out = [{"name": ds.name, "target": ds.target, "n_train": len(train), "n_val": len(val),
            "n_test": len(test), "seconds": seconds, "best_epoch": result.best_epoch,
            "metrics": metrics, "baseline": base_metrics}]
    if params.lexical:
        out.append(with_lexical(ds, out[0], result.model, tokenizer, train, val, test,
                                params.max_length))
    if pseudo:
        print(f"teacher: accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}",
              flush=True)
        out.append(run_student(ds, result.model, tokenizer, train, val, test, params,
                               base_model=base_model, pseudo=pseudo,
                               min_confidence=min_confidence, teacher_seconds=seconds))
        out[-1]["baseline"] = base_metrics
    return out


def run_student(ds: Dataset, teacher: Any, tokenizer: Any, train: list[Example],
                val: list[Example], test: list[Example], params: TrainParams, *,
                base_model: str, pseudo: tuple[Dataset, ...], min_confidence: float,
                teacher_seconds: float) -> dict:
    """Self-training (training.pseudo): the teacher labels the pseudo datasets' texts (their
    own labels unused), a student trains from the base on train + the confident ones."""
    from training.pseudo import pseudo_label

    started = time.monotonic()
    texts = pseudo_texts(pseudo, train + val + test)
    found = pseudo_label(teacher, tokenizer, texts, ds.labels, min_confidence=min_confidence,
                         max_length=params.max_length)
    print(f"pseudo-labels: {len(found.examples)} of {found.offered} texts at >= "
          f"{min_confidence}: {found.counts(ds.labels)}", flush=True)
    rows = train + list(found.examples)
    random.Random(params.seed).shuffle(rows)
    result, _, metrics = fit_and_test(ds, rows, val, test, params, base_model)
    print(format_metrics(metrics), flush=True)
    return {"name": f"{ds.name} student", "target": ds.target, "n_train": len(rows),
            "n_val": len(val), "n_test": len(test),
            "seconds": teacher_seconds + time.monotonic() - started,
            "best_epoch": result.best_epoch, "metrics": metrics}


def run_joint(names: list[str], params: TrainParams, *, quick: bool, max_train: int | None,
              base_model: str, auxiliary: bool = False,
              no_baseline: bool = False) -> list[dict]:
    """Train one shared encoder on the named datasets together, a head per dataset (two
    sentiment datasets get a head each); test each on its own held-out part, exactly as
    run_dataset does for a single dataset. With auxiliary, only the first dataset counts:
    early stopping follows its head and only it is reported (`train --aux-data`)."""
    from training.data import LabelledData
    from training.joint import fit_joint

    parts, tests = [], {}
    for name in names:
        ds = DATASETS[name]
        rest, test = held_out(ds, quick=quick, max_train=max_train)
        parts.append(LabelledData(name, ds.labels, tuple(rest), ()))
        tests[name] = test
    # A text held out by one dataset is not trained on through another (shared encoder).
    held = {e.text for test in tests.values() for e in test}
    parts = [LabelledData(p.task, p.labels, tuple(e for e in p.examples if e.text not in held),
                          ()) for p in parts]
    started = time.monotonic()
    fit = fit_joint(parts, params, resolve_base_model(base_model),
                    select=names[:1] if auxiliary else None)
    seconds = time.monotonic() - started
    result, tokenizer = fit.result, fit.tokenizer
    out = []
    for name, head in zip(names[:1] if auxiliary else names, fit.heads, strict=False):
        ds, (train, val), test = DATASETS[name], fit.split[name], tests[name]
        metrics = test_metrics(result.model, tokenizer, test, ds, params.max_length,
                               head=(head.offset, head.stop))
        suffix = f" +{names[1]} head" if auxiliary else " (joint)"
        out.append({"name": ds.name + suffix, "target": ds.target, "n_train": len(train),
                    "n_val": len(val), "n_test": len(test), "seconds": seconds,
                    "best_epoch": result.best_epoch, "metrics": metrics,
                    "baseline": baseline(train + val, test, ds.labels, skip=no_baseline)})
        if auxiliary and params.lexical:  # `train --aux-data` saves the blend too
            out.append(with_lexical(ds, out[-1], result.model, tokenizer, list(train),
                                    list(val), test, params.max_length,
                                    head=(head.offset, head.stop)))
    return out
