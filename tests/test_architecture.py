"""Imports point one way: dashboard -> monitor, training -> monitor; monitor imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


def _imported_top_levels(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (PROJECT_ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(PROJECT_ROOT))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("monitor", {"dashboard", "training", "streamlit"}),
    ("dashboard", {"training", "torch", "transformers"}),
    ("training", {"dashboard", "streamlit"}),
])
def test_import_direction(package: str, forbidden: set[str]) -> None:
    bad = {f: sorted(n & forbidden) for f, n in _imported_top_levels(package).items()
           if n & forbidden}
    assert bad == {}, f"{package} must not import {sorted(forbidden)}: {bad}"


def test_only_config_reads_the_environment() -> None:
    offenders = []
    for package in ("monitor", "dashboard", "training"):
        for path in Path(PROJECT_ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "os.getenv" in text) and path.name != "config.py":
                offenders.append(str(path.relative_to(PROJECT_ROOT)))
    # The CLI may hand env to load_config; the dashboard launcher passes the config path.
    allowed = {"monitor/cli.py", "dashboard/context.py", "monitor/commands/dashboard.py",
               "monitor/alerts/notify.py"}
    assert sorted(set(offenders) - allowed) == []


def test_monitor_names_no_training_or_dashboard_module_even_by_string() -> None:
    """Lazy imports by name count too: training's commands come in through entry points."""
    offenders = []
    for path in (PROJECT_ROOT / "monitor").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if '"training.' in text or "'training." in text or "import_module(\"dashboard" in text:
            offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []


def test_training_commands_are_plugged_in_through_entry_points() -> None:
    from monitor.cli import cli, plugin_commands

    assert {"train", "evaluate", "bootstrap"} <= set(plugin_commands())
    assert {"train", "evaluate", "bootstrap", "run", "poll"} <= set(cli.list_commands(None))  # type: ignore[arg-type]
