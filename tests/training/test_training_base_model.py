"""Resolving the base model: packaged weights (sha256 checked), local folders, hub ids."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import ModelError
from monitor.scoring.base_model import (
    PACKAGED_SHA256,
    load_base_for_classification,
    packaged_model_dir,
    resolve_base_model,
    sha256_file,
    verify_packaged,
)
from monitor.types import SENTIMENT_LABELS
from tests.conftest import PROJECT_ROOT, make_config


def test_packaged_model_is_found_and_verified() -> None:
    base = resolve_base_model("packaged")
    assert base.source == "packaged" and base.sha256 == PACKAGED_SHA256
    assert Path(base.path) == packaged_model_dir()
    assert base.name == "sentence-transformers/all-MiniLM-L6-v2"


def test_tampered_packaged_weights_are_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(ModelError, match="fails its sha256 check.*reinstall"):
        verify_packaged(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="is missing"):
        verify_packaged(tmp_path)


def test_local_folder_relative_to_config(tmp_path: Path, tiny_base: Path) -> None:
    shutil.copytree(tiny_base, tmp_path / "bases" / "tiny")
    config = make_config(tmp_path)
    base = resolve_base_model("bases/tiny", config)
    assert base.source == "local" and Path(base.path) == tmp_path / "bases" / "tiny"
    assert base.sha256 == sha256_file(tiny_base / "model.safetensors")
    model, tokenizer = load_base_for_classification(base, SENTIMENT_LABELS)
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert tokenizer("acme profit rises")["input_ids"][0] == tokenizer.cls_token_id


def test_bad_local_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        resolve_base_model(str(tmp_path / "empty"))
    (tmp_path / "empty" / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="has no weights"):
        resolve_base_model(str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="looks like a path"):
        resolve_base_model("./missing/model")


def test_unreachable_hub_id_gives_a_clear_error(tmp_path: Path) -> None:
    # Offline mode in a fresh interpreter: the hub is never contacted, as on a machine
    # without internet.
    code = ("from monitor.scoring.base_model import *\n"
            "b = resolve_base_model('finsentinel-test/no-such-model')\n"
            "assert b.source == 'hub', b\n"
            "try:\n    load_base_for_classification(b, ('a', 'b'))\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    env = {"PYTHONPATH": str(PROJECT_ROOT), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.stdout.startswith("ModelError base model 'finsentinel-test/no-such-model' is "
                                 "not in the local Hugging Face cache"), out.stdout + out.stderr
    assert "set model.base_model to 'packaged' or a local folder" in out.stdout


@pytest.mark.slow
def test_real_packaged_model_loads_and_takes_a_training_step() -> None:
    import torch

    from training.data import Example
    from training.train import TrainParams, fit

    base = resolve_base_model("packaged")
    model, tokenizer = load_base_for_classification(base, SENTIMENT_LABELS)
    from safetensors.torch import load_file

    weights = load_file(str(Path(base.path) / "model.safetensors"))
    # The encoder comes from the packaged weights; only the classification head is new.
    assert torch.equal(weights["encoder.layer.0.attention.self.query.weight"],
                       model.base_model.encoder.layer[0].attention.self.query.weight)
    rows = [Example(f"{co} {cue}", label, "t", i) for i, (co, (cue, label)) in enumerate(
        (co, c) for co in ("Acme", "Globex") for c in
        (("profit jumps", "positive"), ("loss widens", "negative"), ("meets Friday", "neutral")))]
    result = fit(model, tokenizer, rows, rows, SENTIMENT_LABELS,
                 TrainParams(epochs=1, batch_size=6, max_length=16), progress=False)
    assert result.metrics["n"] == 6 and result.history[0]["epoch"] == 1


def test_a_seed_fixes_the_fresh_head_whatever_ran_before(tiny_base: Path) -> None:
    import torch

    base = resolve_base_model(str(tiny_base))
    first, _ = load_base_for_classification(base, SENTIMENT_LABELS, seed=7)
    torch.rand(1000)  # other work draws from the global generator in between
    again, _ = load_base_for_classification(base, SENTIMENT_LABELS, seed=7)
    other, _ = load_base_for_classification(base, SENTIMENT_LABELS, seed=8)
    head = dict(first.named_parameters())
    same = dict(again.named_parameters())
    new = [n for n in head if "classifier" in n or "pooler" in n]
    assert new and all(torch.equal(head[n], same[n]) for n in new)
    assert not torch.equal(head["classifier.weight"],
                           dict(other.named_parameters())["classifier.weight"])
