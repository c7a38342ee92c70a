"""The lexical half of a version: TF-IDF word and character n-grams -> linear probabilities.

A version may carry, beside its encoder, a linear model over TF-IDF features of the same
text, fitted on the same training rows (training/lexical.py). Its probabilities are mixed
into the encoder's, ``(1 - weight) * encoder + weight * lexical``, with the weight chosen on
the validation rows. Measured on Twitter financial news it added 1 to 2.5 points (README,
Accuracy experiments): a wire's tweets repeat templates and tickers that n-grams pin down
better than a small encoder does.

On disk, two files in the version folder, hashed by the card like every other file (no
pickle): ``lexical.json`` (labels, weight, each feature block's analyzer, n-gram range and
vocabulary in column order) and ``lexical.safetensors`` (per block the idf vector; the
coefficient matrix, labels x features, and the intercepts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ModelError

SPEC_FILE = "lexical.json"
ARRAYS_FILE = "lexical.safetensors"
FORMAT = 1
_ANALYZERS = ("word", "char_wb")


@dataclass(frozen=True)
class Block:
    """One TF-IDF feature block: sublinear tf x idf over its vocabulary, L2-normalised."""

    analyzer: str  # "word" or "char_wb" (scikit-learn's analyzers)
    ngram_range: tuple[int, int]
    vocabulary: tuple[str, ...]  # column order
    idf: np.ndarray


@dataclass(frozen=True)
class LexicalModel:
    """Multinomial linear model over TF-IDF blocks, and its weight in the blend."""

    labels: tuple[str, ...]
    blocks: tuple[Block, ...]
    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray  # (labels,)
    weight: float

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) probabilities in input order."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        x = self.features(texts)
        z = np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self._vectorizers]).tocsr()

    @cached_property
    def _vectorizers(self) -> list[Any]:
        # Built once: each holds its vocabulary as a dict, which takes time to build.
        return [_vectorizer(b) for b in self.blocks]

    def blend(self, encoder: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The version's probabilities: the encoder's (n, labels) mixed with this model's."""
        return (1.0 - self.weight) * encoder + self.weight * self.proba(texts)

    def save(self, folder: Path) -> None:
        """Write the two files into folder (a version folder being assembled)."""
        from safetensors.numpy import save_file

        spec = {"format": FORMAT, "labels": list(self.labels), "weight": self.weight,
                "blocks": [{"analyzer": b.analyzer, "ngram_range": list(b.ngram_range),
                            "vocabulary": list(b.vocabulary)} for b in self.blocks]}
        (folder / SPEC_FILE).write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        arrays = {f"idf.{i}": b.idf.astype(np.float32) for i, b in enumerate(self.blocks)}
        arrays |= {"coef": self.coef.astype(np.float32),
                   "intercept": self.intercept.astype(np.float32)}
        save_file(arrays, str(folder / ARRAYS_FILE))


def _vectorizer(block: Block) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=block.analyzer, ngram_range=block.ngram_range,
                          sublinear_tf=True, vocabulary=list(block.vocabulary),
                          dtype=np.float32)
    vec.idf_ = block.idf
    return vec


def load_lexical(folder: Path, labels: Sequence[str], fix: str) -> LexicalModel:
    """Read a version folder's lexical files (already sha256-checked by the card);
    ModelError naming the file when they are unusable or disagree with the labels."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    spec_path, arrays_path = folder / SPEC_FILE, folder / ARRAYS_FILE
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        arrays = load_file(str(arrays_path))
        blocks = tuple(Block(str(b["analyzer"]), (int(b["ngram_range"][0]),
                                                  int(b["ngram_range"][1])),
                             tuple(str(t) for t in b["vocabulary"]),
                             np.asarray(arrays[f"idf.{i}"], dtype=np.float64))
                       for i, b in enumerate(spec["blocks"]))
        model = LexicalModel(tuple(spec["labels"]), blocks, arrays["coef"],
                             np.asarray(arrays["intercept"], dtype=np.float64),
                             float(spec["weight"]))
    except FileNotFoundError as err:
        raise ModelError(f"{err.filename or arrays_path} is missing beside {spec_path} "
                         f"(incomplete copy?); {fix}") from None
    except Exception as err:  # json, safetensors and a wrong shape raise many types
        raise ModelError(f"the lexical model in {folder} ({SPEC_FILE}, {ARRAYS_FILE}) could "
                         f"not be read: {type(err).__name__}: {err}; {fix}") from None
    _check(model, labels, spec_path, fix)
    return model


def _check(model: LexicalModel, labels: Sequence[str], where: Path, fix: str) -> None:
    n = sum(len(b.vocabulary) for b in model.blocks)
    problems = []
    if list(model.labels) != list(labels):
        problems.append(f"labels {list(model.labels)} differ from the model's {list(labels)}")
    if model.coef.shape != (len(labels), n) or model.intercept.shape != (len(labels),):
        problems.append(f"coefficients {model.coef.shape} / intercepts "
                        f"{model.intercept.shape} do not fit {len(labels)} labels x {n} "
                        "features")
    if any(b.idf.shape != (len(b.vocabulary),) for b in model.blocks):
        problems.append("an idf vector does not match its vocabulary")
    if any(b.analyzer not in _ANALYZERS for b in model.blocks):
        problems.append(f"analyzers must be among {_ANALYZERS}")
    if not 0.0 < model.weight <= 1.0:
        problems.append(f"weight {model.weight} is not in (0, 1]")
    if problems:
        raise ModelError(f"{where}: " + "; ".join(problems) + f"; {fix}")
