"""Errors and exit codes: ``error: ...`` on stderr, the documented code (no database needed)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from sunlight.cli.common import ExitCode, fail, progress_printer
from sunlight.cli.main import app

runner = CliRunner()


def test_fail_prints_plain_text_on_stderr_and_returns_the_exit(
        capsys: pytest.CaptureFixture[str]) -> None:
    exit_ = fail("site [320703] is not up", ExitCode.ENVIRONMENT)
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == "error: site [320703] is not up"  # not taken for markup


def test_progress_goes_to_stderr_under_json(capsys: pytest.CaptureFixture[str]) -> None:
    progress_printer(as_json=True)("building\nsecond line")
    progress_printer(as_json=False)("done")
    captured = capsys.readouterr()
    assert captured.err.strip() == "• building"
    assert captured.out.strip() == "• done"


@pytest.mark.parametrize("command", [["audit", "verify"], ["cases", "mark-overdue"],
                                     ["catalogue", "export", "out.yaml"]])
def test_core_commands_without_a_database_url_exit_3(command: list[str]) -> None:
    result = runner.invoke(app, command, env={"SUNLIGHT_DATABASE_URL": None,
                                              "SUNLIGHT_SITE_CODE": "320703"})
    assert result.exit_code == 3
    assert "SUNLIGHT_DATABASE_URL" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("code", "exit_code", "says"), [
    (None, 3, "is required"), ("32070x", 2, "must be the 6-digit division code")])
def test_the_site_code_is_required_and_checked(code: str | None, exit_code: int,
                                               says: str) -> None:
    result = runner.invoke(app, ["exchange", "baseline", "adopt", "320000", "1"],
                           env={"SUNLIGHT_SITE_CODE": code})
    assert result.exit_code == exit_code
    assert "SUNLIGHT_SITE_CODE" in result.stderr and says in result.stderr


def test_migrate_without_a_url_is_a_usage_error() -> None:
    result = runner.invoke(app, ["migrate", "core"], env={"SUNLIGHT_DATABASE_URL": None})
    assert result.exit_code == 2 and "--database-url" in result.stderr


def test_catalogue_import_wants_a_path_or_sample() -> None:
    result = runner.invoke(app, ["catalogue", "import"])
    assert result.exit_code == 2 and "give a PATH or --sample" in result.stderr


def test_bad_settings_name_the_field() -> None:
    result = runner.invoke(app, ["serve", "core", "--port", "8003"],
                           env={"SUNLIGHT_SITE_CODE": "320703", "SUNLIGHT_DATABASE_URL": None})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: settings for core")


def test_progress_keeps_the_whole_line_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    long = "realizing " + "x" * 300
    progress_printer(as_json=False)(long)
    assert capsys.readouterr().out.strip() == f"• {long}"


def _refused_by_the_realizer(monkeypatch: pytest.MonkeyPatch, function: str,
                             message: str) -> None:
    """``sunlight.control.stack.up.<function>`` raises RealizerError(message); no engine."""
    from sunlight.cli import deployment
    from sunlight.control.realizer.plan import RealizerError
    from sunlight.control.stack import up

    def refused(*_args: object, **_kwargs: object) -> None:
        raise RealizerError(message)

    monkeypatch.setattr(up, function, refused)
    monkeypatch.setattr(deployment, "docker_client", lambda: None)


def test_up_refused_by_the_realizer_is_an_error_line_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A topology over several engines on a machine whose own address cannot be found."""
    _refused_by_the_realizer(monkeypatch, "up", "this machine has no IPv4 route to find its "
                             "own address: give each engine an `address` in the topology")
    result = runner.invoke(app, ["up", "--no-configure"])
    assert result.exit_code == 1
    assert "error: this machine has no IPv4 route" in result.stderr
    assert "Traceback" not in result.output


def test_down_with_an_engine_that_does_not_answer_names_it_and_the_way_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _refused_by_the_realizer(monkeypatch, "down", "engine second: does not answer (no "
                             "socket); for the second engine run `sunlight engine second up`")
    result = runner.invoke(app, ["down", "--name", "e2try", "--yes"])
    assert result.exit_code == 3
    assert "engine second: does not answer" in result.stderr
    assert "then `sunlight down --name e2try` again" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
