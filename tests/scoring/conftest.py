"""Fixtures for scoring tests: a tmp registry, a config pointing at it, a version maker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.scoring.artifact import save_version
from tests.conftest import NOW, make_config
from tests.scoring.helpers import LABELS, VOCAB, MakeVersion, tiny_model


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def config(tmp_path: Path, registry_dir: Path) -> Config:
    return make_config(tmp_path, model={"registry_dir": str(registry_dir), "device": "cpu",
                                        "cpu_int8": False, "batch_size": 4,
                                        "rescore_window_hours": 24})


@pytest.fixture
def make_version(registry_dir: Path, tmp_path: Path) -> MakeVersion:
    """Save a tiny random version of a task under the registry; returns its folder."""

    def make(task: str = "sentiment", version: str | None = None, seed: int = 0,
             labels: Sequence[str] | None = None) -> Path:
        labels = tuple(labels or LABELS[task])
        version = version or f"{task}-v{seed}"
        model, tokenizer = tiny_model(labels, seed, tmp_path / "vocab")
        card = {"task": task, "base_model": {"name": "tiny-random-bert"},
                "metrics": {"accuracy": 0.5}, "created_at": NOW.isoformat()}
        return save_version(model, tokenizer, card, registry_dir / task / version)

    return make


# Jointly trained pair: (registry_dir, version id) -> folder
MakePair = Callable[..., tuple[Path, Path]]


def _vocab_dir(tmp_path: Path, swapped: bool) -> Path:
    """The helpers' vocabulary, or one of the same size with two words swapped."""
    folder = tmp_path / ("vocab-swapped" if swapped else "vocab")
    if swapped:
        folder.mkdir(parents=True, exist_ok=True)
        words = list(VOCAB)
        words[10], words[11] = words[11], words[10]
        (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def make_pair(registry_dir: Path, tmp_path: Path) -> MakePair:
    """Save a sentiment and a topic version over ONE encoder (as joint training does)."""

    def make(sentiment: str = "s1", topic: str = "t1", seed: int = 0,
             tweak: str | None = None, other_vocab: bool = False,
             lexical: dict | None = None) -> tuple[Path, Path]:
        import torch

        sent, tok = tiny_model(LABELS["sentiment"], seed, _vocab_dir(tmp_path, False))
        top, top_tok = tiny_model(LABELS["topic"], seed + 100,
                                  _vocab_dir(tmp_path, other_vocab))
        encoder = {k: v for k, v in sent.state_dict().items()
                   if not k.startswith("classifier.")}
        missing, _ = top.load_state_dict(encoder, strict=False)
        assert set(missing) <= {"classifier.weight", "classifier.bias"}
        if tweak is not None:  # one encoder tensor differs by one ulp-sized step
            with torch.no_grad():
                top.state_dict()[tweak].view(-1)[0] += 1e-6
        card = {"base_model": {"name": "tiny-random-bert"}, "created_at": NOW.isoformat()}
        lexical = lexical or {}
        s = save_version(sent, tok, {**card, "task": "sentiment"},
                         registry_dir / "sentiment" / sentiment,
                         lexical=lexical.get("sentiment"))
        t = save_version(top, top_tok if other_vocab else tok, {**card, "task": "topic"},
                         registry_dir / "topic" / topic, lexical=lexical.get("topic"))
        return s, t

    return make
