"""Held-out figures of one fine-tuned model: metrics, FPB's errors by agreement, lexical blend."""

from __future__ import annotations

import time
from typing import Any

from _accuracy_data import Dataset

from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
from training.data import Example, load_labelled
from training.evaluate import metrics_report, predict_proba
from training.train import TrainParams, fit


def fit_and_test(ds: Dataset, train: list[Example], val: list[Example], test: list[Example],
                 params: TrainParams, base_model: str) -> tuple[Any, Any, dict]:
    """(FitResult, tokenizer, held-out metrics) of one fine-tune from the base."""
    model, tokenizer = load_base_for_classification(resolve_base_model(base_model), ds.labels,
                                                    seed=params.seed)
    result = fit(model, tokenizer, train, val, ds.labels, params, progress=True)
    return result, tokenizer, test_metrics(result.model, tokenizer, test, ds, params.max_length)


def test_metrics(model: Any, tokenizer: Any, test: list[Example], ds: Dataset,
                 max_length: int, head: tuple[int, int] | None = None) -> dict:
    """Held-out metrics of one model; for FPB also prints where the errors are (one
    prediction pass serves both)."""
    probs = predict_proba(model, tokenizer, [e.text for e in test], max_length=max_length,
                          head=head)
    pred = [ds.labels[int(i)] for i in probs.argmax(axis=1)]
    if ds.path.name.startswith("fpb_50agree"):
        print(agreement_breakdown(test, pred, ds))
    return metrics_report([e.label for e in test], pred, ds.labels)


def agreement_breakdown(test: list[Example], pred: list[str], ds: Dataset) -> str:
    """Held-out accuracy per annotator-agreement level of FPB: where the errors are.

    A sentence's level is the highest agreement file (66/75/all) that contains it; the
    sentences only in 50agree are those a bare majority of annotators agreed on.
    """
    level = {e.text: "50-65%" for e in test}
    for name, tag in (("fpb_66agree_dev.tsv", "66-74%"), ("fpb_75agree_dev.tsv", "75-99%"),
                      ("fpb_allagree_dev.tsv", "100%")):
        path = ds.path.with_name(name)
        if path.is_file():
            found = load_labelled([path], ds.task, ds.labels, skip_invalid=True)
            level.update({e.text: tag for e in found.examples if e.text in level})
    hits: dict[str, list[bool]] = {}
    for e, label in zip(test, pred, strict=True):
        hits.setdefault(level[e.text], []).append(label == e.label)
    lines = ["held-out accuracy by annotator agreement:"]
    for tag in ("100%", "75-99%", "66-74%", "50-65%"):
        got = hits.get(tag, [])
        if got:
            lines.append(f"  {tag:>7}: {sum(got) / len(got):.3f} of {len(got)} "
                         f"({len(got) / len(test):.0%} of the test rows)")
    return "\n".join(lines)


def with_lexical(ds: Dataset, run: dict, model: Any, tokenizer: Any, train: list[Example],
                 val: list[Example], test: list[Example], max_length: int,
                 head: tuple[int, int] | None = None) -> dict:
    """The run's model blended with a lexical model (training.lexical, what `train` saves):
    fitted on the training rows, weighed on validation, tested on the held-out rows. head:
    the (offset, stop) of this dataset's logits in a multi-head model."""
    from training.lexical import fit_lexical

    started = time.monotonic()
    fit = fit_lexical(train, val, ds.labels,
                      predict_proba(model, tokenizer, [e.text for e in val],
                                    max_length=max_length, head=head))
    seconds = time.monotonic() - started
    s = fit.summary
    print(f"lexical model ({s['features']} features, {seconds:.0f} s): validation macro-F1 "
          f"encoder {s['validation']['encoder']['macro_f1']:.4f}, lexical "
          f"{s['validation']['lexical']['macro_f1']:.4f}, blend "
          f"{s['validation']['blend']['macro_f1']:.4f} at weight {s['weight']:.2f}", flush=True)
    texts = [e.text for e in test]
    probs = predict_proba(model, tokenizer, texts, max_length=max_length, head=head)
    if fit.model is not None:
        probs = fit.model.blend(probs, texts)
    pred = [ds.labels[int(i)] for i in probs.argmax(axis=1)]
    if ds.path.name.startswith("fpb_50agree"):
        print(agreement_breakdown(test, pred, ds))
    metrics = metrics_report([e.label for e in test], pred, ds.labels)
    print(f"{ds.name} + lexical (weight {s['weight']:.2f}): accuracy {metrics['accuracy']:.4f} "
          f"macro-F1 {metrics['macro_f1']:.4f}", flush=True)
    return {**run, "name": f"{run['name']} +lexical", "seconds": run["seconds"] + seconds,
            "metrics": metrics}
