"""``sunlight --help``: the commands in their panels, and the exit codes (no engine needed)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from sunlight.cli.common import ExitCode
from sunlight.cli.main import app

runner = CliRunner()

PANELS = {
    "Deployment": ["up", "status", "verify", "scenario", "down", "prechecks", "node",
                   "inventory", "keys"],
    "Operations": ["doctor", "engine", "browser", "images", "hosts", "certs", "bundle"],
    "Load": ["load"],
    "On host": ["serve", "migrate", "accounts", "catalogue", "cases", "audit", "exchange",
                "gateway", "retention", "supervision", "enforcement"],
}


def panels(text: str) -> dict[str, list[str]]:
    """Each box of rich help (title → the first word of each row)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if title := re.match(r"╭─ (.+?) ─", line):
            current = found.setdefault(title.group(1), [])
        elif line.startswith("╰"):
            current = None
        elif current is not None and (row := re.match(r"│ (\S+)\s", line)):
            current.append(row.group(1))
    return found


@pytest.fixture(scope="module")
def help_text() -> str:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_commands_are_grouped_in_panels_in_order(help_text: str) -> None:
    shown = panels(help_text)
    assert list(shown) == ["Options", *PANELS]
    assert {title: shown[title] for title in PANELS} == PANELS


def test_every_command_is_in_a_named_panel(help_text: str) -> None:
    import typer.main

    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(c for cs in PANELS.values() for c in cs)
    assert "Commands" not in panels(help_text)


def test_help_ends_with_the_exit_codes(help_text: str) -> None:
    epilog = " ".join(help_text.split())
    for code in ExitCode:
        assert f"{code.value} " in epilog.split("Exit codes:")[1]
    assert "3 something needed is missing" in epilog


def test_exit_codes_are_the_documented_ones() -> None:
    from sunlight.cli import common

    assert [(c.name, c.value) for c in ExitCode] == [
        ("OK", 0), ("FAILED", 1), ("USAGE", 2), ("ENVIRONMENT", 3)]
    assert common.__doc__
    for code in ExitCode:
        assert re.search(rf"^{code.value}\s+``ExitCode\.{code.name}``", common.__doc__, re.M)


def test_a_group_panel_holds_its_subcommands() -> None:
    result = runner.invoke(app, ["hosts", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert panels(result.stdout)["Commands"] == ["boot", "list", "remove"]
