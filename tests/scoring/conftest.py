"""Fixtures for scoring tests: a tmp registry, a config pointing at it, a version maker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.scoring.artifact import save_version
from tests.conftest import NOW, make_config
from tests.scoring.helpers import LABELS, MakeVersion, tiny_model


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
