"""``sunlight supervision rules check`` without a database; the database commands' errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.supervision.conditions import TooFast
from sunlight.supervision.rules import Scope, default_rules, dump_rules

runner = CliRunner()
COUNTY = default_rules("320703")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_passes_with_its_rules(tmp_path: Path) -> None:
    path = _write(tmp_path, "county.yaml", dump_rules(COUNTY))
    done = runner.invoke(app, ["supervision", "rules", "check", str(path), "--site", "320703",
                               "--sample-catalogue"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "site 320703, version 1, 9 rules" in done.stdout
    as_json = runner.invoke(app, ["supervision", "rules", "check", str(path), "--json"])
    assert json.loads(as_json.stdout)["rules"][:2] == ["TIME-WARN", "TIME-OVERDUE"]


def test_every_problem_is_named_by_rule_field_and_line(tmp_path: Path) -> None:
    text = dump_rules(COUNTY).replace("minutes: 10", "minutes: 0").replace(
        "kind: off_flow", "kind: teleport")
    path = _write(tmp_path, "bad.yaml", text)
    done = runner.invoke(app, ["supervision", "rules", "check", str(path)])
    assert done.exit_code == 2
    assert "rule OFF-FLOW, field kind" in done.stderr and "teleport" in done.stderr
    assert "rule TOO-FAST, field minutes" in done.stderr
    assert "2 problem(s); nothing was changed" in done.stderr
    doc = json.loads(runner.invoke(app, ["supervision", "rules", "check", str(path),
                                         "--json"]).stdout)
    assert doc["ok"] is False
    assert {(p["rule_id"], p["field"]) for p in doc["problems"]} == {
        ("OFF-FLOW", "kind"), ("TOO-FAST", "minutes")}
    assert all(isinstance(p["line"], int) for p in doc["problems"])


def test_scope_site_and_baseline_are_checked(tmp_path: Path) -> None:
    scoped = COUNTY.model_copy(update={"rules": (*COUNTY.rules[:1], COUNTY.rules[1].model_copy(
        update={"scope": Scope(items=("320703-XXXX-XK-999",))}), *COUNTY.rules[2:])})
    path = _write(tmp_path, "scope.yaml", dump_rules(scoped))
    unknown = runner.invoke(app, ["supervision", "rules", "check", str(path),
                                  "--sample-catalogue"])
    assert unknown.exit_code == 2 and "320703-XXXX-XK-999" in unknown.stderr
    wrong_site = runner.invoke(app, ["supervision", "rules", "check",
                                     str(_write(tmp_path, "c.yaml", dump_rules(COUNTY))),
                                     "--site", "320700"])
    assert wrong_site.exit_code == 2 and "field site" in wrong_site.stderr
    baseline = _write(tmp_path, "province.yaml", dump_rules(default_rules()))
    looser = COUNTY.model_copy(update={"rules": tuple(
        r.model_copy(update={"condition": TooFast(minutes=5)}) if r.id == "TOO-FAST" else r
        for r in COUNTY.rules)})
    relaxed = runner.invoke(app, ["supervision", "rules", "check",
                                  str(_write(tmp_path, "l.yaml", dump_rules(looser))),
                                  "--baseline", str(baseline)])
    assert relaxed.exit_code == 2
    assert "rule TOO-FAST, field minutes" in relaxed.stderr
    assert "relaxes baseline rule TOO-FAST" in relaxed.stderr


@pytest.mark.parametrize("command", [["supervision", "rules", "export"],
                                     ["supervision", "tick"]])
def test_database_commands_without_a_database_url_exit_3(command: list[str]) -> None:
    result = runner.invoke(app, command, env={"SUNLIGHT_DATABASE_URL": None,
                                              "SUNLIGHT_SITE_CODE": "320703"})
    assert result.exit_code == 3 and "SUNLIGHT_DATABASE_URL" in result.stderr


def test_import_needs_the_site_code(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.yaml", dump_rules(COUNTY))
    result = runner.invoke(app, ["supervision", "rules", "import", str(path)],
                           env={"SUNLIGHT_SITE_CODE": None})
    assert result.exit_code == 3 and "SUNLIGHT_SITE_CODE" in result.stderr


def test_help_lists_the_groups() -> None:
    result = runner.invoke(app, ["supervision", "rules", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in ("check", "import", "export", "publish"):
        assert command in result.stdout
