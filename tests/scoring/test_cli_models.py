"""`finsentinel models list|activate|rollback|history` and `finsentinel score` end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from monitor.cli import cli
from monitor.config import load_config
from monitor.scoring import registry
from monitor.store.engine import open_store
from tests.conftest import NOW
from tests.scoring.helpers import MakeVersion, add_articles, hours_ago


def _setup(tmp_path: Path, registry_dir: Path) -> tuple[Path, Engine]:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text("\n".join([
        "[database]", f"url = {json.dumps('sqlite:///' + str(tmp_path / 'cli.db'))}",
        "[model]", f"registry_dir = {json.dumps(str(registry_dir))}", 'device = "cpu"',
        "cpu_int8 = false"]) + "\n", encoding="utf-8")
    return cfg_path, open_store(load_config(cfg_path, env={}).database_url)


def _run(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(cfg), *args],
                              env={"FINSENTINEL_CONFIG": None,
                                   "FINSENTINEL_DATABASE_URL": None})


def test_models_commands_and_score(tmp_path: Path, registry_dir: Path,
                                   make_version: MakeVersion) -> None:
    cfg, engine = _setup(tmp_path, registry_dir)
    config = load_config(cfg, env={})
    empty = _run(cfg, "models", "list")
    assert empty.exit_code == 0 and "finsentinel bootstrap" in empty.output

    nothing = _run(cfg, "score")
    assert nothing.exit_code == 1 and "no active version" in nothing.output

    registry.register_version(engine, config, make_version("sentiment", "s1"), now=NOW)
    registry.register_version(engine, config, make_version("sentiment", "s2", seed=2), now=NOW)
    registry.register_version(engine, config, make_version("topic", "t1"), now=NOW)
    # The CLI runs on the real clock: publish within the re-score window of "now".
    add_articles(engine, "a", hours_ago(1, 2, 3, now=datetime.now(UTC)))

    listed = _run(cfg, "models", "list")
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[2] if line.startswith("*") else line.split()[1]: line
             for line in listed.output.splitlines()[2:]}
    assert lines["s1"].startswith("*") and not lines["s2"].startswith("*")
    assert "0.500" in lines["s1"] and "tiny-random-bert" in lines["s1"]

    scored = _run(cfg, "score")
    assert scored.exit_code == 0, scored.output
    assert "s1" in scored.output and "t1" in scored.output and "torch-cpu" in scored.output

    activated = _run(cfg, "models", "activate", "s2", "--reason", "better F1")
    assert activated.exit_code == 0 and "activated s2 for sentiment" in activated.output
    assert registry.active_version(engine, "sentiment") == "s2"
    rescored = _run(cfg, "score", "--task", "sentiment")
    assert rescored.exit_code == 0
    row = [ln for ln in rescored.output.splitlines() if ln.startswith("sentiment")][0]
    assert row.split()[1:6] == ["s2", "torch-cpu", "0", "3", "0"]

    back = _run(cfg, "models", "rollback", "--task", "sentiment")
    assert back.exit_code == 0 and "active version is now s1" in back.output
    hist = _run(cfg, "models", "history", "--task", "sentiment")
    assert "rollback from s2" in hist.output and "better F1" in hist.output

    unknown = _run(cfg, "models", "activate", "nope")
    assert unknown.exit_code == 1 and "unknown model version 'nope'" in unknown.output
    no_back = _run(cfg, "models", "rollback", "--task", "topic")
    assert no_back.exit_code == 1 and "no earlier topic version" in no_back.output
    engine.dispose()
