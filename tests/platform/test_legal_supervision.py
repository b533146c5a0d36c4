"""Refused enforcement attempts are counted in a transaction of their own, and queued for
the parent in it (no PostgreSQL: the refusals and outbox tables alone on SQLite; the rest of
core's calls stubbed)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import BigInteger, Engine, create_engine, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from sunlight.enforcement import flow
from sunlight.enforcement.errors import IllegalStep, OutOfBand, UnqualifiedOfficer
from sunlight.runtime.core import enforcement
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.legal_supervision_models import EnforcementRefusal
from sunlight.runtime.core.refusals import count_refusal, refusal_row
from sunlight.runtime.db import transaction
from sunlight.runtime.errors import ApiError
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.exchange.schemas import ENFORCEMENT_REFUSAL, check_envelope
from tests.enforcement.builders import (
    CHEN,
    MAJOR,
    OLD,
    WANG,
    item,
    registry,
    run_until,
)

TODAY = date(2026, 4, 1)
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
OFFICER = Staff("zhou.jian", (flow.OFFICER,), "320703-SCJGJ")


@compiles(JSONB, "sqlite")
def _json_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "JSON"


@compiles(BigInteger, "sqlite")
def _rowid_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "INTEGER"  # an INTEGER PRIMARY KEY is SQLite's autoincrementing rowid


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    EnforcementRefusal.__table__.create(engine)  # type: ignore[attr-defined]
    OutboxRow.__table__.create(engine)  # type: ignore[attr-defined]
    return engine


def rows(engine: Engine) -> list[EnforcementRefusal]:
    with transaction(engine) as session:
        return list(session.scalars(select(EnforcementRefusal)))


def queued(engine: Engine) -> list[OutboxRow]:
    with transaction(engine) as session:
        return list(session.scalars(select(OutboxRow)))


def unqualified() -> UnqualifiedOfficer:
    return UnqualifiedOfficer("certificate 32070300199 ended on 2026-03-20", certificate=OLD,
                              why="expired", field="by.certificate", step="investigate",
                              status="opened")


def test_only_out_of_band_and_unqualified_make_a_row() -> None:
    args: dict[str, Any] = {"site": "320703", "department": "320703-SCJGJ",
                            "item_code": MAJOR, "case_id": None, "actor": "li.ju",
                            "today": TODAY, "now": NOW}
    row = refusal_row(exc=OutOfBand("outside", band="[1, 2]", field="terms.amount_yuan",
                                    step="decide", status="reviewed"), **args)
    assert row is not None
    assert (row.code, row.step, row.field, row.month, row.refused_on, row.actor) == (
        "out_of_band", "decide", "terms.amount_yuan", "2026-04", TODAY, "li.ju")
    assert refusal_row(exc=unqualified(), **args) is not None
    assert refusal_row(exc=IllegalStep("order", step="decide"), **args) is None


def test_the_row_outlives_the_rolled_back_request(engine: Engine) -> None:
    case_id = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction(engine) as request:
        assert count_refusal(request, site="320703", department="320703-SCJGJ",
                             item_code=MAJOR, case_id=case_id, actor="zhou.jian",
                             exc=unqualified(), today=TODAY, now=NOW)
        raise RuntimeError("the refusal rolls the request back")
    (row,) = rows(engine)
    assert (row.case_id, row.code, row.step, row.month) == (
        case_id, "unqualified_officer", "investigate", "2026-04")
    # Queued for the city in the refusal's own transaction: the city and the province
    # count it too.
    (event,) = queued(engine)
    assert event.envelope is not None
    assert (event.link, event.type) == ("320700", ENFORCEMENT_REFUSAL)
    check_envelope(event.envelope).check(event.envelope)
    assert (event.envelope["data"]["refusal_id"], event.envelope["data"]["case_id"]) == (
        row.id, str(case_id))


def test_a_province_refusal_is_kept_and_sent_nowhere(engine: Engine) -> None:
    with transaction(engine) as request:
        assert count_refusal(request, site="320000", department="320000-SCJGJ",
                             item_code=MAJOR, case_id=None, actor="zhou.jian",
                             exc=unqualified(), today=TODAY, now=NOW)
    assert len(rows(engine)) == 1 and queued(engine) == []


def test_no_row_is_kept_without_its_event(tmp_path: Path) -> None:
    alone = create_engine(f"sqlite:///{tmp_path / 'alone.db'}")  # no outbox table
    EnforcementRefusal.__table__.create(alone)  # type: ignore[attr-defined]
    with Session(alone) as session:
        assert not count_refusal(session, site="320703", department="320703-SCJGJ",
                                 item_code=MAJOR, case_id=None, actor="x",
                                 exc=unqualified(), today=TODAY, now=NOW)
    assert rows(alone) == []


def test_a_refusal_not_counted_writes_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        assert not count_refusal(session, site="320703", department="320703-SCJGJ",
                                 item_code=MAJOR, case_id=None, actor="x",
                                 exc=IllegalStep("order"), today=TODAY, now=NOW)
    assert rows(engine) == []


def test_a_failed_write_never_replaces_the_refusal(tmp_path: Path) -> None:
    bare = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no refusals table
    with Session(bare) as session:
        assert not count_refusal(session, site="320703", department="320703-SCJGJ",
                                 item_code=MAJOR, case_id=None, actor="x",
                                 exc=unqualified(), today=TODAY, now=NOW)


def _stub(monkeypatch: pytest.MonkeyPatch, certificate: str) -> None:
    monkeypatch.setattr(enforcement, "_published_item", lambda session, code: item(code))
    monkeypatch.setattr(enforcement, "item_version",
                        lambda session, code, version: item(code))
    monkeypatch.setattr(enforcement, "_officer_actor", lambda session, staff, role, claimed:
                        flow.Actor(staff.username, role, certificate))
    monkeypatch.setattr(enforcement, "registry_in_force", lambda session: (1, registry()))


def test_a_refused_opening_is_counted_without_a_case(monkeypatch: pytest.MonkeyPatch,
                                                     engine: Engine) -> None:
    _stub(monkeypatch, OLD)  # 周建's certificate ended on 2026-03-20
    party = {"kind": "company", "name": "某某食品有限公司", "id_number": "91110000600037341L"}
    with pytest.raises(ApiError) as refused, transaction(engine) as session:
        enforcement.open_case(session, "320703", OFFICER, MAJOR, party=party,
                              source="投诉举报", summary="无证经营", today=TODAY, now=NOW)
    assert (refused.value.status, refused.value.code) == (403, "unqualified_officer")
    (row,) = rows(engine)
    assert (row.case_id, row.step, row.department, row.item_code, row.actor) == (
        None, "open", "320703-SCJGJ", MAJOR, "zhou.jian")
    _stub(monkeypatch, WANG)
    with pytest.raises(ApiError) as bad, transaction(engine) as session:
        enforcement.open_case(session, "320703", OFFICER, MAJOR, party=party,
                              source="路过", summary="无证经营", today=TODAY, now=NOW)
    assert (bad.value.status, bad.value.field) == (422, "source")
    assert len(rows(engine)) == 1  # bad input is not counted


class _Session:
    """Enough of a session for :func:`enforcement.advance` to reach the flow."""

    def __init__(self, engine: Engine, row: Any) -> None:
        self.engine, self.row = engine, row

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.row

    def get_bind(self) -> Engine:
        return self.engine


def test_a_refused_step_is_counted_against_its_case(monkeypatch: pytest.MonkeyPatch,
                                                    engine: Engine) -> None:
    _stub(monkeypatch, OLD)
    case = run_until(flow.Stage.opened)
    monkeypatch.setattr(enforcement, "case_value", lambda session, row: case)
    row = SimpleNamespace(id=uuid.uuid4(), department="320703-SCJGJ", item_code=MAJOR,
                          item_version=case.item_version, records=[])
    session: Any = _Session(engine, row)
    with pytest.raises(ApiError) as refused:
        enforcement.advance(session, "320703", OFFICER, row.id, flow.Step.investigate,
                            lambda on, by: flow.Investigation(
                                on, by, (WANG, CHEN), (flow.Evidence("record", "笔录"),),
                                "无证经营"), today=TODAY, now=NOW)
    assert (refused.value.status, refused.value.code) == (403, "unqualified_officer")
    assert row.records == []  # the case stored nothing
    (kept,) = rows(engine)
    assert (kept.case_id, kept.step, kept.code, kept.month) == (
        row.id, "investigate", "unqualified_officer", "2026-04")
