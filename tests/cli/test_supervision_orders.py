"""``sunlight supervision orders|inspection`` (the module's own app; no database needed).

The database session and the services are replaced: these tests check the command line —
options, exit codes, how a service's refusal is reported, and the ``--json`` documents.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from sunlight.cli import onhost
from sunlight.cli import supervision_orders as cli
from sunlight.runtime import db
from sunlight.runtime.core import inspection, supervision
from sunlight.runtime.errors import ApiError

runner = CliRunner()
ENV = {"SUNLIGHT_SITE_CODE": "320703", "SUNLIGHT_DATABASE_URL": "postgresql+psycopg://x/y",
       "SUNLIGHT_CLOCK_OFFSET_FILE": None, "SUNLIGHT_PEER_KEYS_DIR": None, "COLUMNS": "200"}
ORDER_ID = uuid.UUID("6f1c0d2e-8a4b-4c1e-9d2f-0a1b2c3d4e5f")


def invoke(*args: str) -> Any:
    return runner.invoke(cli.app, list(args), env=ENV)


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fake engine and transaction; the staff account is whoever ``--as`` names."""
    committed: list[str] = []

    @contextmanager
    def transaction(engine: Any) -> Iterator[Any]:
        yield SimpleNamespace()
        committed.append("commit")

    monkeypatch.setattr(onhost, "core_engine", lambda: SimpleNamespace(dispose=lambda: None))
    monkeypatch.setattr(db, "transaction", transaction)
    monkeypatch.setattr(cli, "_staff", lambda session, username: SimpleNamespace(
        username=username, roles=("supervisor",), department=None))
    return committed


def _order(**fields: Any) -> SimpleNamespace:
    base: dict[str, Any] = dict(
        id=ORDER_ID, issuer="320703", target="320703", department="320703-SCJGJ",
        receipt="320703-20261203-000001", text="请说明超期原因", due_on=date(2026, 12, 4),
        status="open", issued_by="zhao", issued_at=datetime(2026, 12, 1, 2, tzinfo=UTC),
        answer=None, answered_by=None, returns=0, review_note=None, rule_id=None,
        escalated_at=None, escalated_to=None, escalated_from=None,
        history=[{"at": "2026-12-01T02:00:00+00:00", "by": "zhao", "action": "issue",
                  "text": "请说明超期原因", "site": "320703"}])
    return SimpleNamespace(**{**base, **fields})


def test_the_groups_and_their_commands() -> None:
    for group, commands in (("orders", ["list", "issue", "answer", "accept", "return",
                                        "escalate"]),
                            ("inspection", ["draw", "list", "finding", "summary"])):
        result = invoke(group, "--help")
        assert result.exit_code == 0
        for command in commands:
            assert f" {command} " in result.stdout


def test_without_a_database_url_exit_3() -> None:
    result = runner.invoke(cli.app, ["orders", "list", "--as", "zhao"],
                           env={**ENV, "SUNLIGHT_DATABASE_URL": None})
    assert result.exit_code == 3 and "SUNLIGHT_DATABASE_URL" in result.stderr


def test_as_is_required_and_status_checked() -> None:
    assert invoke("orders", "list").exit_code == 2
    result = invoke("orders", "list", "--as", "zhao", "--status", "lost")
    assert result.exit_code == 2 and "--status" in result.stderr


def test_list_json_is_one_document(no_database: list[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def orders(session: Any, site: str, staff: Any, **kwargs: Any) -> list[Any]:
        seen.update(site=site, staff=staff.username, **kwargs)
        return [_order(), _order(id=uuid.uuid4(), status="answered", returns=1,
                                 escalated_from="320703", receipt=None)]

    monkeypatch.setattr(supervision, "orders", orders)
    result = invoke("orders", "list", "--as", "zhao", "--escalated", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [o["status"] for o in doc["orders"]] == ["open", "answered"]
    assert doc["orders"][0]["id"] == str(ORDER_ID)
    assert doc["orders"][0]["history"][0]["action"] == "issue"
    assert seen == {"site": "320703", "staff": "zhao", "status": None, "limit": 100,
                    "escalated": True, "department": None}
    table = invoke("orders", "list", "--as", "zhao")
    assert table.exit_code == 0 and "320703-SCJGJ" in table.stdout


@pytest.mark.parametrize(("status", "exit_code"), [(403, 2), (404, 2), (422, 2), (409, 1)])
def test_a_refusal_names_the_reason_and_exits(no_database: list[str],
                                              monkeypatch: pytest.MonkeyPatch, status: int,
                                              exit_code: int) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ApiError(status, "refused", "督办件已办结（答复已被采纳），不能再答复",
                       field="receipt" if status == 422 else None)

    monkeypatch.setattr(supervision, "answer", refuse)
    result = invoke("orders", "answer", str(ORDER_ID), "--as", "wang", "--text", "已办结")
    assert result.exit_code == exit_code
    assert "督办件已办结" in result.stderr and result.stdout == ""
    assert no_database == []  # nothing committed
    if status == 422:
        assert "(receipt)" in result.stderr


def test_issue_passes_the_options_through(no_database: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def issue(session: Any, site: str, keyring: Any, staff: Any, **kwargs: Any) -> Any:
        seen.update(keyring=keyring, **kwargs)
        return _order()

    monkeypatch.setattr(supervision, "issue", issue)
    result = invoke("orders", "issue", "--as", "zhao", "--department", "320703-SCJGJ",
                    "--text", "请说明", "--due-on", "2026-12-09", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == str(ORDER_ID)
    assert seen["department"] == "320703-SCJGJ" and seen["due_on"] == date(2026, 12, 9)
    assert seen["target"] is None and seen["keyring"] is None and seen["due_days"] is None
    assert no_database == ["commit"]


def test_return_needs_a_reason() -> None:
    result = invoke("orders", "return", str(ORDER_ID), "--as", "zhao")
    assert result.exit_code == 2 and "--reason" in result.output


def test_inspection_draw_json(no_database: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    draw = SimpleNamespace(id=uuid.uuid4(), department="320703-SCJGJ", month="2026-12",
                           seed=42, size=None, share=0.5, population=4,
                           population_sha256="ab" * 32, drawn_by="zhao",
                           drawn_at=datetime(2026, 12, 1, tzinfo=UTC))
    samples = [SimpleNamespace(receipt=f"320703-20261203-00000{n}", result=None, category=None,
                               text=None, reviewed_by=None) for n in (1, 3)]
    monkeypatch.setattr(inspection, "draw_sample", lambda *a, **k: draw)
    monkeypatch.setattr(inspection, "one_draw", lambda *a: (draw, samples))
    result = invoke("inspection", "draw", "--as", "zhao", "--department", "320703-SCJGJ",
                    "--month", "2026-12", "--share", "0.5", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["seed"] == 42 and [s["receipt"] for s in doc["samples"]] == [
        "320703-20261203-000001", "320703-20261203-000003"]
