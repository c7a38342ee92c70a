"""Classifiers: probabilities per class, input order kept through length-sorted batches, ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring.artifact import load_version
from monitor.scoring.classifier import (
    OnnxClassifier,
    TorchClassifier,
    length_sorted_batches,
    make_classifier,
    pad_batch,
    resolve_device,
)
from monitor.scoring.onnx_cache import (
    META_FILE,
    ONNX_DIR,
    ONNX_FILE,
    cached_int8_onnx,
    ensure_int8_onnx,
)
from tests.conftest import make_config
from tests.scoring.helpers import HEADLINES, MakeVersion

TEXTS = [*HEADLINES, "", "gold", HEADLINES[4] * 3]


def test_length_sorted_batches_cover_every_index_once() -> None:
    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = list(length_sorted_batches(lengths, 3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(7))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)
    ids, mask = pad_batch([[2, 7, 3], [2, 3]], pad_id=0)
    assert ids.tolist() == [[2, 7, 3], [2, 3, 0]] and mask.tolist() == [[1, 1, 1], [1, 1, 0]]


def test_probabilities_cover_every_class_and_sum_to_one(make_version: MakeVersion) -> None:
    loaded = load_version(make_version("topic", seed=3))
    clf = TorchClassifier(loaded, device="cpu", batch_size=4, max_length=32)
    probs = clf.predict_proba(TEXTS)
    assert len(probs) == len(TEXTS)
    for p in probs:
        assert tuple(p) == loaded.labels  # all 20 topics, in label order
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-6)
        assert all(0.0 <= v <= 1.0 for v in p.values())
    assert clf.predict_proba([]) == []


def test_sorted_batching_returns_results_in_input_order(make_version: MakeVersion) -> None:
    loaded = load_version(make_version("sentiment", seed=1))
    one_by_one = TorchClassifier(loaded, batch_size=1, max_length=32)
    batched = TorchClassifier(loaded, batch_size=5, max_length=32)
    singles = [one_by_one.predict_proba([t])[0] for t in TEXTS]
    together = batched.predict_proba(TEXTS)
    for a, b in zip(singles, together, strict=True):
        assert list(a) == list(b)
        assert np.allclose(list(a.values()), list(b.values()), atol=1e-5)
    # The texts really are scored differently (so order mix-ups would show).
    assert len({max(p, key=p.__getitem__) for p in together}) > 1 or len(
        {round(p["negative"], 4) for p in together}) > 3
    reversed_probs = batched.predict_proba(TEXTS[::-1])
    assert np.allclose([p["positive"] for p in reversed_probs[::-1]],
                       [p["positive"] for p in together], atol=1e-5)


def test_max_length_truncates(make_version: MakeVersion) -> None:
    loaded = load_version(make_version("sentiment", seed=1))
    short = TorchClassifier(loaded, batch_size=2, max_length=8)
    long_text = " ".join(["stocks rose"] * 60)
    a = short.predict_proba([long_text])[0]
    b = short.predict_proba([" ".join(["stocks rose"] * 3)])[0]  # same first 6 tokens
    assert np.allclose(list(a.values()), list(b.values()), atol=1e-5)


def test_device_resolution() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda", "mps"}
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_int8_onnx_copy_is_built_cached_and_verified(tmp_path: Path,
                                                     make_version: MakeVersion) -> None:
    loaded = load_version(make_version("sentiment", seed=4))
    assert cached_int8_onnx(loaded) is None
    path = ensure_int8_onnx(loaded)
    assert path == loaded.path / ONNX_DIR / ONNX_FILE and path.is_file()
    meta = json.loads((path.parent / META_FILE).read_text())
    assert meta["fused"] is True  # the BERT optimizer fused attention/GELU/layer norm
    assert cached_int8_onnx(loaded) == path
    stamp = path.stat().st_mtime_ns
    assert ensure_int8_onnx(loaded) == path and path.stat().st_mtime_ns == stamp  # reused

    onnx_clf = OnnxClassifier(path, tokenizer=loaded.tokenizer, labels=loaded.labels,
                              version=loaded.version, task=loaded.task, batch_size=4)
    torch_clf = TorchClassifier(loaded, batch_size=4, max_length=64)
    got, ref = onnx_clf.predict_proba(TEXTS), torch_clf.predict_proba(TEXTS)
    for g in got:
        assert tuple(g) == loaded.labels and sum(g.values()) == pytest.approx(1.0, abs=1e-6)
    diff = max(abs(g[k] - r[k]) for g, r in zip(got, ref, strict=True) for k in g)
    assert diff < 0.15, f"int8 probabilities drift {diff:.3f} from fp32"

    # A damaged copy fails its sha256 and is rebuilt, not used.
    path.write_bytes(path.read_bytes()[:1000])
    assert cached_int8_onnx(loaded) is None
    assert ensure_int8_onnx(loaded) == path and cached_int8_onnx(loaded) == path

    # The version folder itself stays valid: the copy is not part of the card.
    load_version(loaded.path)

    # make_classifier picks ONNX on CPU when cpu_int8 is on, torch when off.
    # Both score in CPU-sized batches (batch_size), not gpu_batch_size.
    sizes = {"batch_size": 7, "gpu_batch_size": 99}
    on = make_config(tmp_path, model={"device": "cpu", "cpu_int8": True, **sizes})
    off = make_config(tmp_path, model={"device": "cpu", "cpu_int8": False, **sizes})
    int8, fp32 = make_classifier(loaded, on), make_classifier(loaded, off)
    assert int8.backend == "onnx-int8" and fp32.backend == "torch-cpu"
    assert int8.batch_size == fp32.batch_size == 7  # type: ignore[attr-defined]


def test_make_classifier_falls_back_to_torch_when_export_impossible(
        make_version: MakeVersion, config: Config, tmp_path: Path) -> None:
    folder = make_version("sentiment", seed=5)
    loaded = load_version(folder)
    (folder / ONNX_DIR).write_text("a file where the cache folder should be", encoding="utf-8")
    cfg = make_config(tmp_path, model={"device": "cpu", "cpu_int8": True})
    clf = make_classifier(loaded, cfg)
    assert clf.backend == "torch-cpu"
    assert len(clf.predict_proba(["stocks rose"])) == 1


def test_a_version_is_scored_at_the_length_it_was_trained_at(
        make_version: MakeVersion, tmp_path: Path) -> None:
    """The monitor reads as many tokens as training did (the card's max_length), so it scores
    what `evaluate` measured; model.max_length only covers cards that record no length."""
    from dataclasses import replace

    plain = load_version(make_version("sentiment", seed=1))
    trained_short = replace(plain, card={**plain.card, "max_length": 8})
    long_text = " ".join(["stocks rose"] * 60)
    head = " ".join(["stocks rose"] * 3)  # the long text's first 6 tokens (+ [CLS]/[SEP])
    for int8 in (False, True):
        cfg = make_config(tmp_path, model={"device": "cpu", "cpu_int8": int8,
                                           "max_length": 64})
        short = make_classifier(trained_short, cfg)
        default = make_classifier(plain, cfg)
        a, b = short.predict_proba([long_text, head])
        assert np.allclose(list(a.values()), list(b.values()), atol=1e-5), short.backend
        c, d = default.predict_proba([long_text, head])
        assert not np.allclose(list(c.values()), list(d.values()), atol=1e-5), default.backend
