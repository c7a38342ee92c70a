"""Accuracy benchmark: fine-tune on the real labelled data in ../shared/data, score a held-out part.

For each dataset a fixed, seeded, stratified 20% is held out for testing; the rest is split
again into training and validation (validation drives early stopping). The fine-tuned model
is printed side by side with a named baseline run on the same split: TF-IDF + logistic
regression (scikit-learn), and with the issue's targets.

    nice python benchmarks/accuracy.py                 # all three datasets, default recipe
    nice python benchmarks/accuracy.py --quick         # smoke run: small subsets, one epoch
    nice python benchmarks/accuracy.py --datasets fpb --epochs 10 --lr 1e-4
    nice python benchmarks/accuracy.py --joint twitter,topic   # one shared encoder, both tasks
    nice python benchmarks/accuracy.py --adapt-epochs 10 --adapt-lr 1e-4   # domain-adapted base
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import DEFAULT_TOPICS  # noqa: E402
from monitor.scoring.base_model import load_base_for_classification, resolve_base_model  # noqa: E402
from monitor.types import SENTIMENT_LABELS  # noqa: E402
from training.adapt import AdaptParams  # noqa: E402
from training.data import Example, load_labelled, stratified_split  # noqa: E402
from training.evaluate import (  # noqa: E402
    format_metrics,
    metrics_report,
    predict_proba,
)
from training.labels_map import parse_label_map  # noqa: E402
from training.train import TrainParams, fit  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
HOLDOUT_SEED = 2026
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    path: Path
    label_map: str | None
    target: str  # the target, for the printout
    labels: tuple[str, ...]


DATASETS = {
    "fpb": Dataset("FPB 50agree dev", "sentiment", SHARED / "fpb" / "fpb_50agree_dev.tsv", None,
                   "macro-F1 >= 0.85, accuracy >= 0.87, <= 15 min on 2 cores",
                   SENTIMENT_LABELS),
    "twitter": Dataset("Twitter sentiment train", "sentiment",
                       SHARED / "twitter-financial-news-sentiment" / "sent_train.csv",
                       "0=negative,1=positive,2=neutral", "macro-F1 >= 0.88", SENTIMENT_LABELS),
    "topic": Dataset("Twitter topic train", "topic",
                     SHARED / "twitter-financial-news-topic" / "topic_train.csv",
                     str(SHARED / "twitter-financial-news-topic" / "topic_labels.json"),
                     "accuracy >= 0.90", DEFAULT_TOPICS),
}


def baseline(train: list[Example], test: list[Example], labels: tuple[str, ...], *,
             skip: bool = False) -> dict | None:
    """TF-IDF (word 1-2 grams) + class-balanced logistic regression on the same split; None
    with skip (--no-baseline: the topic baseline alone takes ~30 s of CPU)."""
    if skip:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    x = vec.fit_transform([e.text for e in train])
    clf = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
    clf.fit(x, [e.label for e in train])
    pred = clf.predict(vec.transform([e.text for e in test]))
    return metrics_report([e.label for e in test], list(pred), labels)


def _split(ds: Dataset) -> tuple[list[Example], list[Example]]:
    """(train+validation rows, fixed held-out test rows) of a dataset."""
    # Real data is noisy: tweets that are only a link (empty once links are dropped), the same
    # text with two labels. Such rows are skipped with a warning (counted in the log).
    data = load_labelled([ds.path], ds.task, ds.labels, label_map=parse_label_map(ds.label_map),
                         skip_invalid=True)
    return stratified_split(data.examples, HOLDOUT_FRACTION, HOLDOUT_SEED)


def _train_val_test(ds: Dataset, params: TrainParams, *, quick: bool,
                    max_train: int | None) -> tuple[list[Example], list[Example], list[Example]]:
    rest, test = _split(ds)
    if quick:  # test is sorted by label: shuffle before taking a small slice of it
        random.Random(HOLDOUT_SEED).shuffle(test)
        rest, test = rest[:400], test[:200]
    if max_train is not None:
        rest = rest[:max_train]
    train, val = stratified_split(rest, params.eval_fraction, params.seed)
    return train, val, test


def _pseudo_texts(pseudo: tuple[Dataset, ...], exclude: list[Example]) -> list[str]:
    """The pseudo datasets' texts (labels unused) that no labelled row of this run has."""
    from training.pseudo import candidate_texts

    return candidate_texts((e.text for d in pseudo for e in load_labelled(
        [d.path], d.task, d.labels, label_map=parse_label_map(d.label_map),
        skip_invalid=True).examples), (e.text for e in exclude))


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
            rest, test = _split(ds)
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

    train, val, test = _train_val_test(ds, params, quick=quick, max_train=max_train)
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
    train, val, test = _train_val_test(ds, params, quick=quick, max_train=max_train)
    # Extra in-domain training rows from other datasets of the same task (their own
    # held-out parts stay out); validation and test stay on this dataset only.
    seen = {e.text for e in val + test}
    for extra in augment:
        train += [e for e in _split(extra)[0] if e.text not in seen]
    random.Random(params.seed).shuffle(train)
    result, tokenizer, metrics = _fit_and_test(ds, train, val, test, params, base_model)
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


def run_student(ds: Dataset, teacher: Any, tokenizer: Any, train: list[Example],
                val: list[Example], test: list[Example], params: TrainParams, *,
                base_model: str, pseudo: tuple[Dataset, ...], min_confidence: float,
                teacher_seconds: float) -> dict:
    """Self-training (training.pseudo): the teacher labels the pseudo datasets' texts (their
    own labels unused), a student trains from the base on train + the confident ones."""
    from training.pseudo import pseudo_label

    started = time.monotonic()
    texts = _pseudo_texts(pseudo, train + val + test)
    found = pseudo_label(teacher, tokenizer, texts, ds.labels, min_confidence=min_confidence,
                         max_length=params.max_length)
    print(f"pseudo-labels: {len(found.examples)} of {found.offered} texts at >= "
          f"{min_confidence}: {found.counts(ds.labels)}", flush=True)
    rows = train + list(found.examples)
    random.Random(params.seed).shuffle(rows)
    result, _, metrics = _fit_and_test(ds, rows, val, test, params, base_model)
    print(format_metrics(metrics), flush=True)
    return {"name": f"{ds.name} student", "target": ds.target, "n_train": len(rows),
            "n_val": len(val), "n_test": len(test),
            "seconds": teacher_seconds + time.monotonic() - started,
            "best_epoch": result.best_epoch, "metrics": metrics}


def _fit_and_test(ds: Dataset, train: list[Example], val: list[Example], test: list[Example],
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
        rest, test = _split(ds)
        if quick:
            random.Random(HOLDOUT_SEED).shuffle(test)
            rest, test = rest[:400], test[:200]
        if max_train is not None:
            rest = rest[:max_train]
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


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="fpb,twitter,topic",
                    help="comma-separated subset of: " + ", ".join(DATASETS)
                         + " (none: only the --adapt-epochs step)")
    ap.add_argument("--quick", action="store_true", help="small subsets, one epoch (smoke run)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--max-length", type=int, default=None)
    ap.add_argument("--patience", type=int, default=None)
    ap.add_argument("--max-train", type=int, default=None,
                    help="cap the training rows (time-boxed runs)")
    ap.add_argument("--base-model", default="packaged")
    ap.add_argument("--augment", default="",
                    help="also train on these datasets' training parts (same task), e.g. twitter")
    ap.add_argument("--joint", default="",
                    help="train these datasets (e.g. twitter,topic) together over one shared "
                         "encoder, a head each, as `finsentinel train --task both` does")
    ap.add_argument("--auxiliary", default="",
                    help="train each dataset beside an auxiliary head on this dataset (e.g. "
                         "twitter for fpb), as `finsentinel train --aux-data` does")
    ap.add_argument("--schedule", choices=("linear", "cosine"), default=None)
    ap.add_argument("--train-embeddings", action="store_true",
                    help="fine-tune the word-embedding matrix too (frozen by default)")
    ap.add_argument("--no-class-weights", action="store_true",
                    help="plain cross-entropy (inverse-frequency class weights by default)")
    ap.add_argument("--label-smoothing", type=float, default=None)
    ap.add_argument("--layer-decay", type=float, default=None,
                    help="layer-wise learning-rate decay (e.g. 0.8; default 1 = none)")
    ap.add_argument("--rdrop", type=float, default=None,
                    help="R-Drop weight: each batch twice, + weight x symmetric KL (0 = off)")
    ap.add_argument("--ema", type=float, default=None, metavar="EPOCHS",
                    help="span of the weight average in epochs (default 1, as `train`; "
                         "0 = the weights themselves)")
    ap.add_argument("--pseudo", default="",
                    help="self-training: after training, label these datasets' texts (their "
                         "labels unused) and train a student on the confident ones too")
    ap.add_argument("--min-confidence", type=float, default=0.9,
                    help="with --pseudo: keep pseudo-labels at least this probable")
    ap.add_argument("--soup", type=int, default=1, metavar="K",
                    help="model soup: K runs from one starting point, weights averaged")
    ap.add_argument("--adapt-epochs", type=int, default=0, metavar="N",
                    help="first domain-adapt the base (masked-LM, training.adapt) for N epochs "
                         "on every dataset's texts except all held-out rows, labels unused")
    ap.add_argument("--adapt-lr", type=float, default=AdaptParams.lr)
    ap.add_argument("--adapt-out", default=None,
                    help="save the adapted base here (a new folder; default a temp folder): "
                         "later runs can name it with --base-model")
    ap.add_argument("--no-lexical", action="store_true",
                    help="skip the lexical blend (by default each run is also tested blended "
                         "with a TF-IDF linear model weighed on validation, as `train` saves)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the TF-IDF baseline (its topic fit alone takes ~30 s of CPU)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (1 avoids oversubscription on a busy machine)")
    return ap


def _recipe(args: argparse.Namespace) -> TrainParams:
    """TrainParams: the `train` defaults (10 % validation), then the flags given."""
    params = TrainParams(seed=args.seed, eval_fraction=0.1)
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr,
                                   "batch_size": args.batch_size,
                                   "max_length": args.max_length,
                                   "patience": args.patience,
                                   "schedule": args.schedule,
                                   "label_smoothing": args.label_smoothing,
                                   "layer_decay": args.layer_decay,
                                   "rdrop": args.rdrop, "ema_epochs": args.ema,
                                   "threads": args.threads}.items() if v is not None}
    if args.no_class_weights:
        overrides["class_weights"] = False
    if args.train_embeddings:
        overrides["freeze_embeddings"] = False
    if args.no_lexical:
        overrides["lexical"] = False
    if args.quick:
        overrides.setdefault("epochs", 1)
    return replace(params, **overrides)


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    params = _recipe(args)
    names = [n.strip() for n in args.datasets.split(",") if n.strip() and n != "none"]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset(s) {unknown}; choose from {', '.join(DATASETS)}")
    missing = [str(DATASETS[n].path) for n in names if not DATASETS[n].path.is_file()]
    if missing:
        print(f"shared data not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(f"recipe: {params}")
    if args.adapt_epochs:
        args.base_model = adapted_base(args.base_model, replace(
            AdaptParams(), epochs=args.adapt_epochs, lr=args.adapt_lr, seed=args.seed,
            threads=args.threads),
            quick=args.quick, out=args.adapt_out)
    print("\n" + summary(_run_all(ap, args, params, names)))
    return 0


def _run_all(ap: argparse.ArgumentParser, args: argparse.Namespace, params: TrainParams,
             names: list[str]) -> list[dict]:
    """Each dataset's runs in the mode the flags choose (joint, auxiliary, soup, single)."""
    results = []
    joint = [n.strip() for n in args.joint.split(",") if n.strip()]
    if joint:
        bad = [n for n in joint if n not in DATASETS]
        if bad or len(set(joint)) != len(joint) or len(joint) < 2:
            ap.error(f"--joint needs two or more different datasets, got {joint}")
        print(f"\n=== joint: {' + '.join(DATASETS[n].name for n in joint)} ===", flush=True)
        for r in run_joint(joint, params, quick=args.quick, max_train=args.max_train,
                           base_model=args.base_model, no_baseline=args.no_baseline):
            print(f"\n{r['name']}:\n" + format_metrics(r["metrics"]))
            results.append(r)
        names = [n for n in names if n not in joint]
    aux = args.auxiliary.strip()
    if aux and aux not in DATASETS:
        ap.error(f"unknown --auxiliary dataset {aux!r}; choose from {', '.join(DATASETS)}")
    for name in names:
        print(f"\n=== {DATASETS[name].name} ===", flush=True)
        if aux and aux != name:
            results += run_joint([name, aux], params, quick=args.quick,
                                 max_train=args.max_train, base_model=args.base_model,
                                 auxiliary=True, no_baseline=args.no_baseline)
            print(format_metrics(results[-1]["metrics"]))
            continue
        augment = tuple(DATASETS[a] for a in args.augment.split(",") if a.strip() and a != name
                        and DATASETS[a].task == DATASETS[name].task)
        pseudo = tuple(DATASETS[p] for p in args.pseudo.split(",") if p.strip() and p != name)
        if args.soup > 1:
            results += run_soup(DATASETS[name], params, quick=args.quick,
                                max_train=args.max_train, base_model=args.base_model,
                                members=args.soup, no_baseline=args.no_baseline)
            print(format_metrics(results[-1]["metrics"]))
            continue
        runs = run_dataset(DATASETS[name], params, quick=args.quick, max_train=args.max_train,
                           base_model=args.base_model, augment=augment, pseudo=pseudo,
                           min_confidence=args.min_confidence, no_baseline=args.no_baseline)
        r = runs[0]
        if augment:
            r["name"] += " +" + "+".join(a.name.split()[0] for a in augment)
        print(format_metrics(r["metrics"]))
        results += runs
    return results


def summary(results: list[dict]) -> str:
    head = (f"{'dataset':<26}{'train/val/test':>18}{'acc':>8}{'macro-F1':>10}"
            f"{'baseline acc':>14}{'baseline F1':>13}{'F1 ratio':>10}{'train s':>9}  target")
    lines = [head, "-" * len(head)]
    nan = float("nan")
    for r in results:
        m, b = r["metrics"], r["baseline"] or {"accuracy": nan, "macro_f1": nan}
        ratio = m["macro_f1"] / b["macro_f1"] if b["macro_f1"] else nan
        lines.append(f"{r['name']:<26}{r['n_train']:>7}/{r['n_val']}/{r['n_test']:<6}"
                     f"{m['accuracy']:>8.4f}{m['macro_f1']:>10.4f}{b['accuracy']:>14.4f}"
                     f"{b['macro_f1']:>13.4f}{ratio:>10.3f}{r['seconds']:>9.0f}  {r['target']}")
    lines.append("baseline = TF-IDF (1-2 grams) + logistic regression on the same train+val rows")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
