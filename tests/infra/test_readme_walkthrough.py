"""infra/README.md's walk from `pulumi up` to a configured site names real commands.

Every `sunlight ...` command in the walkthrough (in its code blocks and in its `$(...)`
substitutions) must be a command of the CLI taking every option it is given there: each is
resolved through the typer app and its `--help` (typer's CliRunner) must show those options.
The walkthrough must hold the four steps of the issue and say it was not rehearsed here.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import typer
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.paths import repo_root

README = repo_root() / "infra" / "README.md"
SECTION = "## Operators: from `pulumi up` to a configured site"
runner = CliRunner()


def _walkthrough() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def _sunlight_commands(text: str) -> list[list[str]]:
    """Each `sunlight ...` invocation in code blocks or inline code, as argument lists."""
    found = re.findall(r"\$\((sunlight [^)]*)\)", text)
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        found += [line for line in block.splitlines() if line.startswith("sunlight ")]
    found += re.findall(r"`(sunlight [^`$]*)`", text)
    return [shlex.split(command)[1:] for command in found]


def _resolve(args: list[str]) -> tuple[list[str], list[str]]:
    """The command path (group names, then the command) and the options given."""
    command: Any = typer.main.get_command(app)  # typer's own (vendored) click objects
    path: list[str] = []
    for arg in args:
        if arg in getattr(command, "commands", {}):
            command = command.commands[arg]
            path.append(arg)
    options = [a.split("=", 1)[0] for a in args if a.startswith("--")]
    assert not hasattr(command, "commands"), f"{args}: names a group, not a command"
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    assert set(options) <= known, f"sunlight {' '.join(path)}: no {set(options) - known}"
    return path, options


def test_the_walkthrough_names_the_four_steps_and_is_marked_unrehearsed() -> None:
    text = _walkthrough()
    assert "Not rehearsed here: no Pulumi CLI is obtainable on these machines" in text
    blocks = "".join(re.findall(r"```sh\n(.*?)```", text, flags=re.S))
    steps = ["pulumi up", "pulumi stack output --json --show-secrets >",
             "sunlight inventory from-pulumi", "sunlight up --configure-only --name"]
    positions = [blocks.index(step) for step in steps]
    assert positions == sorted(positions)


def test_every_sunlight_command_of_the_walkthrough_exists_with_its_options() -> None:
    commands = _sunlight_commands(_walkthrough())
    checked = set()
    for args in commands:
        path, options = _resolve(args)
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        for option in options:
            assert option in result.output, (path, option)
        checked.add(" ".join(path))
    assert {"images tag", "inventory control-key", "inventory from-pulumi", "up",
            "verify"} <= checked
