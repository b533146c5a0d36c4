"""The decision document of a decided case (准予 / 不予行政许可决定书, issue 17 point 1):
what it states, its PDF, and that deciding a case in core issues it, stores it with its
SHA-256 and sends it towards the portal in a whitelisted record.

The PDF is rendered by the penalty decisions' machinery (WeasyPrint) and read back with
pypdf, as tests/platform/test_decision_document.py does. Its ASCII parts (receipt, identity
number, item code, number's year and serial) are checked on any machine; its Chinese text
where Noto CJK is installed (as on core's host), else in the HTML the template makes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, select

from sunlight.catalogue import sample_catalogue
from sunlight.runtime.core import catalogue_store, licence_decision
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.cases import act
from sunlight.runtime.core.decision_document import department_short_name
from sunlight.runtime.core.licence_decision import (
    LicenceDecision,
    format_licence_number,
    render,
    render_html,
)
from sunlight.runtime.core.models import AuditLog, Case, CaseDocument, Outbound
from sunlight.runtime.db import transaction
from sunlight.runtime.records import DecisionDocument, RecordRejected, parse_record
from sunlight.workflow.deadlines import due_date
from sunlight.workflow.machine import Action
from tests.platform.core_sqlite import core_engine

SITE = "320703"
NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 09:30 on 2 December in China
RECEIPT = f"{SITE}-20261201-000001"
PERSON_ID = "11010519491231002X"
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}"


def _decision(kind: str = "granted", **changes: object) -> LicenceDecision:
    fields: dict[str, object] = {
        "kind": kind, "number": format_licence_number("连云市监", kind, 2026, 3),
        "department": "连云区市场监督管理局", "item_code": "320703-SCJGJ-XK-001",
        "item_name": "食品经营许可", "legal_basis": "《中华人民共和国食品安全法》第三十五条",
        "receipt": RECEIPT, "applicant_kind": "person", "applicant_name": "张伟",
        "applicant_id": PERSON_ID, "submitted_on": date(2026, 12, 1),
        "decided_on": date(2026, 12, 2),
        "reason": "经营场所与申请材料不符" if kind == "denied" else ""}
    fields.update(changes)
    return LicenceDecision(**fields)  # type: ignore[arg-type]


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _ascii(pdf: bytes) -> str:
    return "".join(ch for ch in _text(pdf) if ch.isascii() and ch.isprintable() and ch != " ")


@pytest.fixture(scope="module")
def granted() -> bytes:
    return render(_decision()).pdf


@pytest.fixture(scope="module")
def denied() -> bytes:
    return render(_decision("denied")).pdf


def test_numbers_name_the_department_kind_year_and_serial() -> None:
    assert format_licence_number("连云市监", "granted", 2026, 1) == "连云市监许准〔2026〕1号"
    assert format_licence_number("连云市监", "denied", 2027, 12) == "连云市监许不〔2027〕12号"


def test_a_grant_states_department_item_applicant_case_and_date() -> None:
    html = render_html(_decision())
    for text in ("准予行政许可决定书", "连云区市场监督管理局", "连云市监许准〔2026〕3号",
                 "食品经营许可", "320703-SCJGJ-XK-001", "张伟", "公民身份号码", PERSON_ID,
                 RECEIPT, "2026年12月1日", "2026年12月2日", "第三十八条第一款",
                 "本机关决定准予行政许可"):
        assert text in html, text
    assert "不予" not in html and "行政复议" not in html


def test_a_denial_states_the_reason_and_the_remedies() -> None:
    html = render_html(_decision("denied"))
    for text in ("不予行政许可决定书", "连云市监许不〔2026〕3号", "不予行政许可的理由",
                 "经营场所与申请材料不符", "第三十八条第二款", "六十日内依法申请行政复议",
                 "六个月内依法向人民法院提起行政诉讼", "自收到本决定书之日起"):
        assert text in html, text


def test_an_enterprise_is_named_with_its_credit_code() -> None:
    html = render_html(_decision(applicant_kind="enterprise", applicant_name="海州湾贸易"))
    assert "统一社会信用代码：" in html and "公民身份号码" not in html


def test_recorded_text_is_escaped_in_the_document() -> None:
    html = render_html(_decision("denied", applicant_name=HOSTILE, reason=HOSTILE))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in html
    # Control and bidirectional characters, and a long name, still make a document.
    odd = HOSTILE + "\u202eevil\u0007\x01\x0b" + "长" * 300
    assert render(_decision("denied", applicant_name=odd, reason=odd * 5)).pdf.startswith(
        b"%PDF-")


def test_the_pdf_carries_the_fields_and_the_same_decision_gives_the_same_bytes(
        granted: bytes) -> None:
    assert granted.startswith(b"%PDF-")
    text = _ascii(granted)
    for part in (RECEIPT, PERSON_ID, "320703-SCJGJ-XK-001", "2026"):
        assert part in text, part
    assert render(_decision()).pdf == granted
    other = render(_decision(number=format_licence_number("连云市监", "granted", 2026, 4)))
    assert other.pdf != granted and other.sha256 == hashlib.sha256(other.pdf).hexdigest()


# -- issued when core decides ---------------------------------------------------------------


def _world(path: Path) -> tuple[Engine, uuid.UUID, str]:
    """Core's database with the sample catalogue and one case awaiting its decision."""
    engine = core_engine(path)
    with transaction(engine) as session:
        catalogue_store.import_catalogue(session, SITE, sample_catalogue(), "setup")
        item = next(i for i in catalogue_store.list_items(session, "published")
                    if [s["role"] for s in i.doc["flow"]] == [  # type: ignore[index,union-attr]
                        "clerk", "reviewer", "approver", "clerk"])
        case = Case(receipt=RECEIPT, item_code=item.code, item_version=item.version,
                    department=item.department, applicant_kind="person",
                    applicant_id=PERSON_ID, applicant_name="张伟", form={},
                    status="awaiting_decision", step_index=2,
                    submitted_on=date(2026, 12, 1), limit_days=10, paused=[],
                    due_on=due_date(date(2026, 12, 1), 10), status_seq=3)
        session.add(case)
        session.flush()
        return engine, case.id, item.department


def _approver(department: str) -> Staff:
    return Staff(username="zhao.approve", roles=("approver",), department=department)


@pytest.mark.parametrize(("action", "kind", "title"), [
    (Action.grant, "granted", "准予行政许可决定书"),
    (Action.deny, "denied", "不予行政许可决定书")])
def test_deciding_a_case_issues_stores_and_sends_its_document(
        tmp_path: Path, action: Action, kind: str, title: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine, case_id, department = _world(tmp_path / "core.db")
    rendered: list[Any] = []  # what the flow hands the renderer (the real one still renders)
    real_render = licence_decision.render
    monkeypatch.setattr(licence_decision, "render",
                        lambda decision: rendered.append(decision) or real_render(decision))
    with transaction(engine) as session:
        act(session, SITE, _approver(department), case_id, action, "内部意见：场所核查不符",
            NOW, applicant_note="经营场所与申请材料不符" if kind == "denied" else "")
    with transaction(engine) as session:
        document = session.scalars(select(CaseDocument)).one()
        assert (document.case_id, document.kind, document.serial) == (case_id, kind, 1)
        short = department_short_name(
            sample_catalogue().departments_by_code()[department].name)
        assert document.number == format_licence_number(short, kind, 2026, 1)
        assert hashlib.sha256(document.content).hexdigest() == document.sha256
        assert document.size == len(document.content)
        assert licence_decision.document_of(session, case_id) is not None
        feed = [r for r in session.scalars(select(Outbound).order_by(Outbound.seq))
                if r.record_type == DecisionDocument.RECORD_TYPE]
        assert len(feed) == 1
        record = parse_record("outward", feed[0].record_type, feed[0].payload)
        assert isinstance(record, DecisionDocument)
        assert (record.receipt, record.kind, record.title, record.number) == (
            RECEIPT, kind, title, document.number)
        assert record.content == document.content and record.sha256 == document.sha256
        assert record.decided_on == date(2026, 12, 2)  # the decision's day in China
        issued = session.scalars(select(AuditLog).where(
            AuditLog.entity == "case_document")).one()
        assert issued.entity_id == RECEIPT and document.sha256 in issued.comment
    # A denial states the note written for the applicant as its reason, not the comment.
    assert [d.reason for d in rendered] == ["经营场所与申请材料不符" if kind == "denied" else ""]
    if kind == "denied":
        assert "经营场所与申请材料不符" in render_html(rendered[0])


def test_a_refusal_to_accept_issues_no_licensing_decision(tmp_path: Path) -> None:
    engine, case_id, department = _world(tmp_path / "core.db")
    with transaction(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.status, case.step_index = "submitted", 0
    with transaction(engine) as session:
        act(session, SITE, Staff(username="li.clerk", roles=("clerk",), department=department),
            case_id, Action.refuse, "材料不全", NOW)
    with transaction(engine) as session:
        assert session.scalars(select(CaseDocument)).all() == []
        assert DecisionDocument.RECORD_TYPE not in session.scalars(
            select(Outbound.record_type)).all()


# -- the record that carries it ---------------------------------------------------------------


def _record(pdf: bytes, **changes: object) -> dict[str, object]:
    """A ``case.document`` payload as core's feed holds it (the PDF base64)."""
    payload: dict[str, object] = {
        "receipt": RECEIPT, "kind": "granted", "title": "准予行政许可决定书",
        "number": "连云市监许准〔2026〕3号", "decided_on": "2026-12-02",
        "media_type": "application/pdf", "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(), "content": base64.b64encode(pdf).decode()}
    payload.update(changes)
    return payload


def test_the_record_crosses_only_with_bytes_that_match_its_hash(granted: bytes) -> None:
    good = parse_record("outward", "case.document", _record(granted))
    assert isinstance(good, DecisionDocument) and good.content == granted
    tampered = _record(granted, content=base64.b64encode(
        granted[:100] + bytes([granted[100] ^ 1]) + granted[101:]).decode())
    for payload, reason in (
            (tampered, "does not match its sha256"),
            (_record(b"MZ" + granted[2:]), "not a PDF"),
            (_record(granted, size=len(granted) + 1), "bytes, the record says"),
            (_record(granted, title="不予行政许可决定书"), "is titled 准予行政许可决定书"),
            (_record(granted, content="not base64!"), "must be base64")):
        with pytest.raises(RecordRejected, match=reason):
            parse_record("outward", "case.document", payload)
