"""Shared views over more than plain torch: the fused int8 ONNX graph (equal to separate int8,
cached, rebuilt when damaged or stale) and each version's own lexical blend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from monitor.scoring.artifact import load_version
from monitor.scoring.classifier import TorchClassifier, make_classifier
from monitor.scoring.lexical import Block, LexicalModel
from monitor.scoring.onnx_cache import ONNX_DIR, verified_copy
from monitor.scoring.shared import (
    ensure_shared_onnx,
    make_shared_pair,
    shared_onnx_paths,
    shared_views,
)
from tests.scoring.conftest import MakePair
from tests.scoring.helpers import LABELS, TEXTS
from tests.scoring.helpers import cpu_config as _cfg
from tests.scoring.helpers import max_diff as _max_diff
from tests.scoring.helpers import shared_pair as _pair


def test_int8_shared_graph_matches_separate_int8_and_is_cached(
        make_pair: MakePair, tmp_path: Path, registry_dir: Path) -> None:
    cfg = _cfg(tmp_path, registry_dir, cpu_int8=True)
    models = [load_version(f) for f in make_pair()]
    pair = make_shared_pair(models, cfg)
    assert pair is not None and pair.backend == "onnx-int8-shared"
    onnx_path, meta_path = shared_onnx_paths(models)
    assert onnx_path == models[0].path / ONNX_DIR / "shared-t1.onnx"  # in the sentiment folder
    meta = json.loads(meta_path.read_text())
    assert meta["fused"] is True and "sentiment=s1:" in meta["source"]
    assert "topic=t1:" in meta["source"]
    views = pair.views()
    for loaded in models:
        separate = make_classifier(loaded, cfg)
        assert separate.backend == "onnx-int8"
        ref, got = separate.predict_proba(TEXTS), views[loaded.task].predict_proba(TEXTS)
        assert _max_diff(got, ref) < 1e-4
        fp32 = TorchClassifier(loaded, batch_size=4).predict_proba(TEXTS)
        agree = [max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
                 for a, b in zip(got, fp32, strict=True)]
        assert sum(agree) >= len(agree) - 2, "int8 labels drift from fp32"
    assert pair.texts_encoded == len(TEXTS)

    # Reused when intact; a damaged or stale copy is rebuilt, never used.
    stamp = onnx_path.stat().st_mtime_ns
    assert ensure_shared_onnx(models) == onnx_path and onnx_path.stat().st_mtime_ns == stamp
    onnx_path.write_bytes(onnx_path.read_bytes()[:2000])
    assert ensure_shared_onnx(models) == onnx_path
    assert verified_copy(onnx_path, meta_path, meta["source"]) == onnx_path
    rebuilt = make_shared_pair(models, cfg)
    assert rebuilt is not None
    assert _max_diff(rebuilt.views()["topic"].predict_proba(TEXTS),
                     views["topic"].predict_proba(TEXTS)) < 1e-6
    meta_path.write_text(json.dumps({**meta, "source": "sentiment=old"}), encoding="utf-8")
    stamp = onnx_path.stat().st_mtime_ns
    assert ensure_shared_onnx(models) == onnx_path and onnx_path.stat().st_mtime_ns != stamp
    assert json.loads(meta_path.read_text())["source"] == meta["source"]
    load_version(models[0].path)  # the version folder itself stays valid


def _lexical(labels: tuple[str, ...], seed: int) -> LexicalModel:
    """A hand-made lexical model over a few of the headlines' words."""
    words = ("stocks", "oil", "bank", "dividend", "gold", "fell", "rose")
    rng = np.random.default_rng(seed)
    return LexicalModel(labels, (Block("word", (1, 1), words, np.ones(len(words))),),
                        rng.normal(0, 3, (len(labels), len(words))), np.zeros(len(labels)),
                        weight=0.4)


def test_shared_views_blend_each_versions_own_lexical_model(
        make_pair: MakePair, tmp_path: Path, registry_dir: Path) -> None:
    lex = {task: _lexical(LABELS[task], k) for k, task in enumerate(("sentiment", "topic"))}
    models = [load_version(f) for f in make_pair(lexical=lex)]
    assert all(m.lexical is not None for m in models)
    cfg = _cfg(tmp_path, registry_dir)
    views = shared_views(models, cfg)
    assert views is not None
    raw = _pair((models[0].path, models[1].path), cfg).views()  # type: ignore[arg-type]
    for m in models:
        view = views[m.task]
        assert view.backend == "torch-cpu-shared+lexical" and view.version == m.version
        enc = np.array([[p[k] for k in m.labels] for p in raw[m.task].predict_proba(TEXTS)])
        want = (1 - 0.4) * enc + 0.4 * lex[m.task].proba(TEXTS)
        got = np.array([[p[k] for k in m.labels] for p in view.predict_proba(TEXTS)])
        assert np.allclose(got, want) and not np.allclose(got, enc)

