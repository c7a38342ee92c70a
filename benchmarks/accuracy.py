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

This script is the command line and the summary table; the datasets and held-out splits are in
_accuracy_data.py, one model's held-out figures in _accuracy_eval.py, the run modes in
_accuracy_runs.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _accuracy_data import DATASETS  # noqa: E402
from _accuracy_runs import adapted_base, run_dataset, run_joint, run_soup  # noqa: E402

from training.adapt import AdaptParams  # noqa: E402
from training.evaluate import format_metrics  # noqa: E402
from training.train import TrainParams  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="fpb,twitter,topic",
                    help="comma-separated subset of: " + ", ".join(DATASETS)
                         + " (none: only the --adapt-epochs step)")
    ap.add_argument("--quick", action="store_true", help="small subsets, one epoch (smoke run)")
    _add_fit_options(ap)
    _add_data_mix_options(ap)
    _add_recipe_options(ap)
    _add_extra_step_options(ap)
    ap.add_argument("--no-lexical", action="store_true",
                    help="skip the lexical blend (by default each run is also tested blended "
                         "with a TF-IDF linear model weighed on validation, as `train` saves)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the TF-IDF baseline (its topic fit alone takes ~30 s of CPU)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (1 avoids oversubscription on a busy machine)")
    return ap


def _add_fit_options(ap: argparse.ArgumentParser) -> None:
    """The basic fine-tune: length, learning rate, batches, which base."""
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--max-length", type=int, default=None)
    ap.add_argument("--patience", type=int, default=None)
    ap.add_argument("--max-train", type=int, default=None,
                    help="cap the training rows (time-boxed runs)")
    ap.add_argument("--base-model", default="packaged")


def _add_data_mix_options(ap: argparse.ArgumentParser) -> None:
    """Other datasets trained beside the one tested: extra rows, joint or auxiliary heads."""
    ap.add_argument("--augment", default="",
                    help="also train on these datasets' training parts (same task), e.g. twitter")
    ap.add_argument("--joint", default="",
                    help="train these datasets (e.g. twitter,topic) together over one shared "
                         "encoder, a head each, as `finsentinel train --task both` does")
    ap.add_argument("--auxiliary", default="",
                    help="train each dataset beside an auxiliary head on this dataset (e.g. "
                         "twitter for fpb), as `finsentinel train --aux-data` does")


def _add_recipe_options(ap: argparse.ArgumentParser) -> None:
    """Changes to the training recipe (schedule, loss, regularisation, weight average)."""
    ap.add_argument("--schedule", choices=("linear", "cosine"), default=None)
    ap.add_argument("--warmup-ratio", type=float, default=None,
                    help="share of the steps spent warming the learning rate up (default 0.1)")
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="AdamW weight decay (default 0.01)")
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


def _add_extra_step_options(ap: argparse.ArgumentParser) -> None:
    """Steps around the fine-tune: self-training, model soup, domain adaptation first."""
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


def _recipe(args: argparse.Namespace) -> TrainParams:
    """TrainParams: the `train` defaults (10 % validation), then the flags given."""
    params = TrainParams(seed=args.seed, eval_fraction=0.1)
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr,
                                   "batch_size": args.batch_size,
                                   "max_length": args.max_length,
                                   "patience": args.patience,
                                   "schedule": args.schedule,
                                   "warmup_ratio": args.warmup_ratio,
                                   "weight_decay": args.weight_decay,
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
        results += _run_joint_flag(ap, args, params, joint)
        names = [n for n in names if n not in joint]
    aux = args.auxiliary.strip()
    if aux and aux not in DATASETS:
        ap.error(f"unknown --auxiliary dataset {aux!r}; choose from {', '.join(DATASETS)}")
    for name in names:
        results += _run_one(args, params, name, aux)
    return results


def _run_joint_flag(ap: argparse.ArgumentParser, args: argparse.Namespace, params: TrainParams,
                    joint: list[str]) -> list[dict]:
    """--joint: the named datasets over one shared encoder, each result printed."""
    bad = [n for n in joint if n not in DATASETS]
    if bad or len(set(joint)) != len(joint) or len(joint) < 2:
        ap.error(f"--joint needs two or more different datasets, got {joint}")
    print(f"\n=== joint: {' + '.join(DATASETS[n].name for n in joint)} ===", flush=True)
    results = []
    for r in run_joint(joint, params, quick=args.quick, max_train=args.max_train,
                       base_model=args.base_model, no_baseline=args.no_baseline):
        print(f"\n{r['name']}:\n" + format_metrics(r["metrics"]))
        results.append(r)
    return results


def _run_one(args: argparse.Namespace, params: TrainParams, name: str, aux: str) -> list[dict]:
    """One dataset's runs: beside an auxiliary head, as a soup, or alone (+ blend, student)."""
    print(f"\n=== {DATASETS[name].name} ===", flush=True)
    if aux and aux != name:
        runs = run_joint([name, aux], params, quick=args.quick, max_train=args.max_train,
                         base_model=args.base_model, auxiliary=True,
                         no_baseline=args.no_baseline)
        print(format_metrics(runs[-1]["metrics"]))
        return runs
    augment = tuple(DATASETS[a] for a in args.augment.split(",") if a.strip() and a != name
                    and DATASETS[a].task == DATASETS[name].task)
    pseudo = tuple(DATASETS[p] for p in args.pseudo.split(",") if p.strip() and p != name)
    if args.soup > 1:
        runs = run_soup(DATASETS[name], params, quick=args.quick, max_train=args.max_train,
                        base_model=args.base_model, members=args.soup,
                        no_baseline=args.no_baseline)
        print(format_metrics(runs[-1]["metrics"]))
        return runs
    runs = run_dataset(DATASETS[name], params, quick=args.quick, max_train=args.max_train,
                       base_model=args.base_model, augment=augment, pseudo=pseudo,
                       min_confidence=args.min_confidence, no_baseline=args.no_baseline)
    r = runs[0]
    if augment:
        r["name"] += " +" + "+".join(a.name.split()[0] for a in augment)
    print(format_metrics(r["metrics"]))
    return runs


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
