"""Argument handling of the `sunlight` command (no engine needed)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import sunlight
from sunlight.cli.main import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"sunlight {sunlight.__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "images" in result.output and "doctor" in result.output


def test_images_build_has_force_flag() -> None:
    result = runner.invoke(app, ["images", "build", "--help"])
    assert result.exit_code == 0
    assert "--force" in result.output


def test_unknown_option_is_an_error_naming_it() -> None:
    result = runner.invoke(app, ["images", "build", "--forse"])
    assert result.exit_code == 2
    assert "--forse" in result.output


def test_remove_requires_a_run() -> None:
    result = runner.invoke(app, ["hosts", "remove"])
    assert result.exit_code == 2
    assert "--run" in result.output


@pytest.mark.parametrize("command", [["hosts", "remove"], ["hosts", "boot"]])
def test_bad_run_id_is_refused_naming_the_option(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--run", "Bad_Run"])
    assert result.exit_code == 2
    assert "--run" in result.output and "run id" in result.output


def test_doctor_without_engine_fails_with_remedies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = runner.invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "no engine answers" in result.output
    assert "make setup" in result.output
    assert "needs an engine" in result.output


def test_images_build_without_engine_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = runner.invoke(app, ["images", "build"], env={"COLUMNS": "200"})
    assert result.exit_code == 3  # ExitCode.ENVIRONMENT: something needed is missing
    assert "sunlight engine ensure" in result.stderr


def test_the_cli_loads_without_control_node_tooling() -> None:
    """Hosts install only the server extra: importing the CLI must not need the rest."""
    import subprocess
    import sys

    code = ("import sys, sunlight.cli; "
            "print(sorted(m for m in ('docker', 'psutil', 'paramiko', 'locust', 'pulumi', "
            "'testcontainers', 'ansible') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_load_finds_its_profiles_from_anywhere(tmp_path: object) -> None:
    """The console script runs outside the checkout; its profiles must still be found
    (they are ``sunlight.control.load.shapes``, imported without path edits)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    script = shutil.which("sunlight", path=str(Path(sys.executable).parent))
    assert script
    out = subprocess.run([script, "load", "--profile", "nosuch"], cwd="/", capture_output=True,
                         text=True, check=False)
    assert out.returncode == 2
    assert "inspection-season" in out.stderr + out.stdout  # the list of profiles it knows
