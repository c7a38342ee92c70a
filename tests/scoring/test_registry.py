"""Registry: version ids, registration, activation, rollback, refusing corrupt versions."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring import registry
from tests.conftest import NOW
from tests.scoring.helpers import MakeVersion


def test_new_version_id_and_dir(config: Config) -> None:
    vid = registry.new_version_id("sentiment", NOW)
    assert re.fullmatch(r"sentiment-20261102-143000-[0-9a-f]{6}", vid)
    assert registry.new_version_id("sentiment", NOW) != vid
    assert registry.version_dir(config, "topic", "v") == config.registry_path / "topic" / "v"
    with pytest.raises(ModelError, match="unknown task 'mood'"):
        registry.new_version_id("mood", NOW)


def test_first_version_is_activated_later_ones_wait(engine: Engine, config: Config,
                                                    make_version: MakeVersion) -> None:
    assert registry.active_version(engine, "sentiment") is None
    v1 = registry.register_version(engine, config, make_version("sentiment", "s1"), now=NOW)
    v2 = registry.register_version(engine, config, make_version("sentiment", "s2", seed=2),
                                   now=NOW + timedelta(hours=1))
    t1 = registry.register_version(engine, config, make_version("topic", "t1"), now=NOW)
    assert (v1, v2, t1) == ("s1", "s2", "t1")
    assert registry.active_version(engine, "sentiment") == "s1"
    assert registry.active_version(engine, "topic") == "t1"
    rows = registry.list_versions(engine, "sentiment")
    assert [r.version for r in rows] == ["s1", "s2"]
    assert rows[0].metrics == {"accuracy": 0.5} and rows[0].base_model == "tiny-random-bert"
    assert rows[0].card["labels"] == ["negative", "neutral", "positive"]
    assert len(registry.list_versions(engine)) == 3
    # Registering the same folder again is a no-op.
    assert registry.register_version(engine, config, config.registry_path / "sentiment" / "s1",
                                     now=NOW) == "s1"
    assert len(registry.list_versions(engine)) == 3


def test_activate_and_rollback_walk_the_history(engine: Engine, config: Config,
                                                make_version: MakeVersion) -> None:
    for i, name in enumerate(("a", "b", "c")):
        registry.register_version(engine, config, make_version("sentiment", name, seed=i),
                                  now=NOW)
    registry.activate(engine, "sentiment", "b", now=NOW + timedelta(minutes=1))
    registry.activate(engine, "sentiment", "c", now=NOW + timedelta(minutes=2), reason="better")
    info = registry.active_info(engine, "sentiment")
    assert info is not None and info.version == "c"
    assert info.activated_at == NOW + timedelta(minutes=2)
    assert info.path == config.registry_path / "sentiment" / "c"
    assert registry.rollback(engine, "sentiment", now=NOW + timedelta(minutes=3)) == "b"
    assert registry.rollback(engine, "sentiment", now=NOW + timedelta(minutes=4)) == "a"
    assert registry.active_version(engine, "sentiment") == "a"
    with pytest.raises(ModelError, match="no earlier sentiment version"):
        registry.rollback(engine, "sentiment", now=NOW + timedelta(minutes=5))
    history = registry.activation_history(engine, "sentiment")
    assert [h.version for h in history] == ["a", "b", "c", "b", "a"]  # nothing is deleted
    assert history[0].reason == "rollback from b"


def test_activate_refuses_unknown_wrong_task_and_corrupt(engine: Engine, config: Config,
                                                         make_version: MakeVersion) -> None:
    registry.register_version(engine, config, make_version("sentiment", "s1"), now=NOW)
    folder = make_version("sentiment", "s2", seed=2)
    registry.register_version(engine, config, folder, now=NOW)
    registry.register_version(engine, config, make_version("topic", "t1"), now=NOW)
    with pytest.raises(ModelError, match="unknown model version 'zzz'"):
        registry.activate(engine, "sentiment", "zzz", now=NOW)
    with pytest.raises(ModelError, match="is a topic model, not sentiment"):
        registry.activate(engine, "sentiment", "t1", now=NOW)
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="sha256"):
        registry.activate(engine, "sentiment", "s2", now=NOW)
    assert registry.active_version(engine, "sentiment") == "s1"


def test_register_refuses_corrupt_folder_and_duplicate_id(engine: Engine, config: Config,
                                                          make_version: MakeVersion,
                                                          tmp_path: Path) -> None:
    folder = make_version("sentiment", "s1")
    (folder / "card.json").write_text("not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        registry.register_version(engine, config, folder, now=NOW)
    assert registry.list_versions(engine) == []
    good = make_version("sentiment", "s2")
    copy = tmp_path / "elsewhere" / "s2"
    shutil.copytree(good, copy)
    registry.register_version(engine, config, good, now=NOW)
    with pytest.raises(ModelError, match="already registered"):
        registry.register_version(engine, config, copy, now=NOW)
