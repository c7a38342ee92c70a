"""Metrics for a model on labelled examples: classification report, confusion matrix, comparison."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def predict_proba(model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int,
                  batch_size: int = 64, device: Any = None,
                  head: tuple[int, int] | None = None) -> np.ndarray:
    """Class probabilities (n, n_labels) in input order; batches sorted by length for speed.

    head = (start, stop) takes the softmax over those outputs only: one task of a joint model.
    """
    import torch

    device = device or next(model.parameters()).device
    start_out, stop_out = head or (0, model.config.num_labels)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), stop_out - start_out), dtype=np.float32)
    was_training = model.training
    model.eval()
    autocast = _autocast(device)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length,
                            padding=True, return_tensors="pt").to(device)
            with autocast:
                logits = model(**enc).logits[:, start_out:stop_out]
            out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    model.train(was_training)
    return out


def _autocast(device: Any) -> Any:
    import contextlib

    import torch

    if getattr(device, "type", str(device)) == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()


def metrics_report(y_true: Sequence[str], y_pred: Sequence[str],
                   labels: Sequence[str]) -> dict[str, Any]:
    """accuracy, macro-F1, per-class report (dict and text) and confusion matrix (rows = true)."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

    labels = list(labels)
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True,
                                   zero_division=0)
    text = classification_report(y_true, y_pred, labels=labels, digits=3, zero_division=0)
    matrix = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro",
                                   zero_division=0)),
        "per_class": {label: {k: float(v) for k, v in report[label].items()} for label in labels},
        "confusion_matrix": {"labels": labels, "matrix": matrix},
        "report_text": text,
    }


def format_confusion(metrics: dict[str, Any], width: int = 10) -> str:
    """The confusion matrix as aligned text (rows: true label, columns: predicted)."""
    labels = metrics["confusion_matrix"]["labels"]
    matrix = metrics["confusion_matrix"]["matrix"]
    short = [label[:width] for label in labels]
    head = " " * (width + 2) + " ".join(f"{s:>{width}}" for s in short)
    rows = [f"{s:<{width}}  " + " ".join(f"{v:>{width}}" for v in row)
            for s, row in zip(short, matrix, strict=True)]
    return "confusion matrix (rows: true, columns: predicted)\n" + "\n".join([head, *rows])


def format_metrics(metrics: dict[str, Any]) -> str:
    """The printed summary: headline numbers, classification report, confusion matrix."""
    return (f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
            f"(n={metrics['n']})\n\n{metrics['report_text']}\n{format_confusion(metrics)}")


def evaluate_examples(model: Any, tokenizer: Any, texts: Sequence[str], gold: Sequence[str],
                      labels: Sequence[str], *, max_length: int, batch_size: int = 64,
                      device: Any = None, head: tuple[int, int] | None = None,
                      lexical: Any = None) -> dict[str, Any]:
    """Predict texts with model and compare with gold labels (label order from the model;
    head selects one task's outputs of a joint model, see predict_proba; lexical, a
    version's LexicalModel, is blended in as the scorer does)."""
    probs = predict_proba(model, tokenizer, texts, max_length=max_length,
                          batch_size=batch_size, device=device, head=head)
    if lexical is not None:
        probs = lexical.blend(probs, texts)
    pred = [labels[i] for i in probs.argmax(axis=1)]
    return metrics_report(gold, pred, labels)


def compare_metrics(candidate: dict[str, Any], current: dict[str, Any]) -> dict[str, float]:
    """Differences candidate - current for accuracy and macro-F1 (same evaluation data)."""
    return {key: float(candidate[key]) - float(current[key])
            for key in ("accuracy", "macro_f1") if key in candidate and key in current}


def card_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The JSON-friendly subset stored in a model card (the text report is kept too)."""
    return {k: metrics[k] for k in ("n", "accuracy", "macro_f1", "per_class",
                                    "confusion_matrix", "report_text") if k in metrics}


def headline_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Accuracy and macro-F1 rounded for a card's summary of a model that was not saved."""
    return {"accuracy": round(float(metrics["accuracy"]), 4),
            "macro_f1": round(float(metrics["macro_f1"]), 4)}
