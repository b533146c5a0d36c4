"""What reaches citizens (issue 15, point 6): a transition's internal comment stays in the
internal zone; the portal's tracking page shows only what staff wrote for the applicant.

``cases.act`` runs here on a stand-in session that records what it is given (no engine):
the light and the audit chain, which query the database, are replaced by recorders.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from sunlight.catalogue.flow import FlowStep
from sunlight.runtime.core import cases
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.models import Case, CaseEvent, Outbound
from sunlight.runtime.core.schemas import ActionIn
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.gateway.service import _apply_outward
from sunlight.runtime.portal.models import Application
from sunlight.runtime.records import CaseStatus, RecordRejected, parse_record
from sunlight.workflow.machine import Action

RECEIPT = "320703-20261201-000007"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
INTERNAL = "内部意见：申请人去年被投诉过，审查从严（勿告知申请人）"
NOTE = "请补充加盖公章的年度报告第 3 页。"
FLOW = [FlowStep(kind=kind, name=name, role=role, limit_days=2)  # type: ignore[arg-type]
        for kind, name, role in (("accept", "受理", "clerk"), ("review", "审查", "reviewer"),
                                 ("decide", "决定", "approver"), ("close", "办结", "clerk"))]


class _Scalars:
    def __init__(self, row: object) -> None:
        self.row = row

    def first(self) -> object:
        return self.row


class _Session:
    """Just enough of a session for ``cases.act``: the case is found, rows are recorded."""

    def __init__(self, case: Case) -> None:
        self.case, self.added = case, []  # type: list[object]

    def scalars(self, _stmt: object) -> _Scalars:
        return _Scalars(self.case)

    def execute(self, _stmt: object) -> None:  # the chain lock
        return None

    def add(self, row: object) -> None:
        self.added.append(row)

    def of(self, kind: type[Any]) -> list[Any]:
        return [r for r in self.added if isinstance(r, kind)]


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> _Session:
    audited: list[dict[str, Any]] = []
    monkeypatch.setattr(cases, "flow_of", lambda _s, _c: FLOW)
    monkeypatch.setattr(cases.lights, "assess", lambda *_a: None)
    monkeypatch.setattr(cases.lights, "store", lambda *_a: None)
    monkeypatch.setattr(cases, "audit", lambda _s, _site, **kw: audited.append(kw))
    case = Case(id=uuid.uuid4(), receipt=RECEIPT, item_code="320703-SCJGJ-QT-001",
                item_version=1, department="320703-SCJGJ", applicant_kind="enterprise",
                applicant_id="91320703MA1XXXXX0X", applicant_name="某某小吃店", form={},
                status="submitted", step_index=0, decision=None, resume_status=None,
                resume_step_index=None, submitted_on=date(2026, 12, 1), limit_days=5,
                paused=[], due_on=date(2026, 12, 8), overdue=False, status_seq=1)
    stand_in = _Session(case)
    stand_in.audited = audited  # type: ignore[attr-defined]
    return stand_in


def _act(session: _Session, action: Action, comment: str, **note: str) -> None:
    clerk = Staff("li", ("clerk",), "320703-SCJGJ")
    cases.act(session, "320703", clerk, session.case.id, action, comment,  # type: ignore[arg-type]
              NOW, **note)


def _outward(session: _Session) -> CaseStatus:
    [row] = session.of(Outbound)
    record = parse_record("outward", row.record_type, row.payload)
    assert isinstance(record, CaseStatus)
    return record


def test_an_internal_comment_does_not_reach_the_outward_record(session: _Session) -> None:
    _act(session, Action.accept, INTERNAL)
    [row] = session.of(Outbound)
    assert INTERNAL not in str(row.payload), f"the comment goes to the portal: {row.payload}"
    record = _outward(session)
    assert (record.status, record.status_seq, record.applicant_note) == ("in_review", 2, "")
    # ...and stays where staff and the supervising tiers see it.
    [event] = session.of(CaseEvent)
    assert event.comment == INTERNAL
    assert session.audited[0]["comment"] == INTERNAL  # type: ignore[attr-defined]
    [up] = session.of(OutboxRow)
    assert up.envelope is not None and up.envelope["data"]["comment"] == INTERNAL


def test_only_the_applicant_note_reaches_the_outward_record(session: _Session) -> None:
    _act(session, Action.request_correction, INTERNAL, applicant_note=NOTE)
    record = _outward(session)
    assert (record.status, record.applicant_note) == ("correction_requested", NOTE)
    assert INTERNAL not in str(session.of(Outbound)[0].payload)
    # The trail shows both: what staff thought and what the applicant was told.
    [event] = session.of(CaseEvent)
    assert event.comment == f"{INTERNAL}\n{cases.APPLICANT_NOTE_MARK}{NOTE}"
    assert session.audited[0]["comment"] == event.comment  # type: ignore[attr-defined]


def test_the_staff_action_api_takes_the_note_apart_from_the_comment() -> None:
    body = ActionIn.model_validate({"action": "request_correction", "comment": INTERNAL,
                                    "applicant_note": NOTE})
    assert (body.comment, body.applicant_note) == (INTERNAL, NOTE)
    assert ActionIn.model_validate({"action": "accept"}).applicant_note == ""
    with pytest.raises(ValueError, match="applicant_note"):
        ActionIn.model_validate({"action": "accept", "applicant_note": "x" * 4001})


def test_the_record_has_no_comment_and_refuses_other_unknown_fields() -> None:
    assert "comment" not in CaseStatus.model_fields
    base = {"receipt": RECEIPT, "status": "in_review", "status_seq": 2, "decision": None,
            "due_on": "2026-12-08", "overdue": False}
    with pytest.raises(RecordRejected, match="internal_comment"):
        parse_record("outward", "case.status", {**base, "internal_comment": INTERNAL})
    with pytest.raises(RecordRejected, match="applicant_note"):
        parse_record("outward", "case.status", {**base, "applicant_note": "x" * 4001})


def test_a_row_core_wrote_before_crosses_without_its_comment() -> None:
    # The feed's rows of before carried the transition's comment, possibly internal: the
    # gateway still parses them (it would hold its cursor on them) but carries no text.
    old = {"receipt": RECEIPT, "status": "in_review", "status_seq": 2, "decision": None,
           "comment": INTERNAL, "due_on": "2026-12-08", "overdue": False}
    record = parse_record("outward", "case.status", old)
    assert isinstance(record, CaseStatus) and record.applicant_note == ""
    assert INTERNAL not in str(record.payload())


class _PortalSession:
    def __init__(self, application: Application) -> None:
        self.application, self.added = application, list[object]()

    def add(self, obj: object) -> None:
        self.added.append(obj)

    def scalars(self, _stmt: object) -> _Scalars:
        return _Scalars(self.application)


def test_the_tracking_page_shows_the_note_as_its_status_comment() -> None:
    application = Application(receipt=RECEIPT, status="sent", status_seq=1,
                              status_comment="", decision=None)
    record = CaseStatus.build(receipt=RECEIPT, status="correction_requested", status_seq=2,
                              applicant_note=NOTE, due_on=date(2026, 12, 8))
    session = _PortalSession(application)
    _apply_outward(session, record)  # type: ignore[arg-type]
    assert (application.status, application.status_comment) == ("correction_requested", NOTE)
    # Issue 17: the applicant's history keeps the step with the same note, nothing else.
    [event] = session.added
    assert (event.status, event.note) == ("correction_requested", NOTE)  # type: ignore[attr-defined]
