"""The gateway's whitelist: only known record types cross, each strictly validated."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import pytest

from sunlight.runtime.records import (
    INWARD,
    OUTWARD,
    Applicant,
    ApplicationResubmitted,
    CatalogueItem,
    Complaint,
    MaterialRef,
    RatingRecord,
    Record,
    RecordRejected,
    StagedApplicationResubmitted,
    StagedApplicationSubmitted,
    parse_record,
    parse_staged,
)
from sunlight.runtime.records import CaseStatus as CaseStatusRecord
from sunlight.workflow.machine import CaseStatus

RECEIPT = "320703-20261128-000001"


def _material(data: bytes, sha: str | None = None) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "name": "材料", "filename": "a.pdf",
            "content_type": "application/pdf", "size": len(data),
            "sha256": sha or hashlib.sha256(data).hexdigest()}


def test_directions_are_disjoint() -> None:
    assert not set(INWARD) & set(OUTWARD)


@pytest.mark.parametrize("record_type", ["case.status", "sql", "application.deleted"])
def test_not_whitelisted_inward(record_type: str) -> None:
    with pytest.raises(RecordRejected, match="may not cross inward"):
        parse_record("inward", record_type, {})


def test_unknown_fields_are_refused_and_named() -> None:
    with pytest.raises(RecordRejected, match="admin: Extra inputs"):
        parse_record("inward", "feedback.rating",
                     {"receipt": RECEIPT, "score": 5, "comment": "", "admin": True})


def test_rating_range_is_enforced() -> None:
    with pytest.raises(RecordRejected, match="score"):
        parse_record("inward", "feedback.rating", {"receipt": RECEIPT, "score": 9})


def test_an_application_names_its_materials_and_never_carries_their_bytes() -> None:
    rec = parse_record("inward", "application.resubmitted", {
        "receipt": RECEIPT, "batch": 1, "submitted_at": "2026-11-28T10:00:00+08:00",
        "materials": [_material(b"%PDF-ok")]})
    assert isinstance(rec.materials[0], MaterialRef)  # type: ignore[attr-defined]
    inline = _material(b"%PDF-ok") | {"content_b64": "JVBERi1vaw=="}
    with pytest.raises(RecordRejected, match=r"materials\.0\.content_b64: Extra inputs"):
        parse_record("inward", "application.resubmitted", {
            "receipt": RECEIPT, "batch": 1, "submitted_at": "2026-11-28T10:00:00+08:00",
            "materials": [inline]})
    with pytest.raises(RecordRejected, match=r"materials\.0\.sha256"):
        parse_record("inward", "application.resubmitted", {
            "receipt": RECEIPT, "batch": 1, "submitted_at": "2026-11-28T10:00:00+08:00",
            "materials": [_material(b"%PDF-ok", sha="not-a-hash")]})


def test_case_status_must_be_a_workflow_status() -> None:
    for status in CaseStatus:
        parse_record("outward", "case.status",
                     {"receipt": RECEIPT, "status": status.value, "status_seq": 1})
    with pytest.raises(RecordRejected, match="unknown case status"):
        parse_record("outward", "case.status",
                     {"receipt": RECEIPT, "status": "deleted", "status_seq": 1})


# --- Typed producers, unchanged wire format --------------------------------------------------
NOW = datetime(2026, 11, 28, 2, 0, 0, 123456, tzinfo=UTC)
M1, M2 = uuid.uuid4(), uuid.uuid4()


def test_the_portal_stages_an_application_exactly_as_the_untyped_writer_did() -> None:
    applicant = Applicant.build(kind="person", id_number="320703199001011234", name="王芳",
                                phone="")
    record = StagedApplicationSubmitted.build(
        receipt=RECEIPT, item_code="320703-SCJGJ-QT-001", item_version=1, applicant=applicant,
        form={"名称": "连云区小吃店", "面积": 12.5, "人数": 3}, submitted_at=NOW, batch=0,
        materials=[M1, M2])
    # The dict portal/service.py wrote before the records were typed.
    untyped = {
        "receipt": RECEIPT, "item_code": "320703-SCJGJ-QT-001", "item_version": 1,
        "applicant": {"kind": "person", "id_number": "320703199001011234", "name": "王芳",
                      "phone": ""},
        "form": {"名称": "连云区小吃店", "面积": 12.5, "人数": 3},
        "submitted_at": NOW.isoformat(), "batch": 0, "materials": [str(M1), str(M2)],
    }
    assert record.RECORD_TYPE == "application.submitted"
    assert json.dumps(record.payload(), sort_keys=True) == json.dumps(untyped, sort_keys=True)
    # a row stored by the untyped writer parses, and round-trips to the same payload
    assert parse_staged("application.submitted", untyped).payload() == untyped


def test_resubmissions_complaints_and_ratings_keep_their_shape() -> None:
    cases: list[tuple[Record, dict[str, object]]] = [
        (StagedApplicationResubmitted.build(receipt=RECEIPT, batch=1, submitted_at=NOW,
                                            materials=[M1]),
         {"receipt": RECEIPT, "batch": 1, "submitted_at": NOW.isoformat(),
          "materials": [str(M1)]}),
        (Complaint.build(receipt=RECEIPT, text="太慢"), {"receipt": RECEIPT, "text": "太慢"}),
        (RatingRecord.build(receipt=RECEIPT, score=4, comment="好"),
         {"receipt": RECEIPT, "score": 4, "comment": "好"}),
    ]
    for record, untyped in cases:
        assert record.payload() == untyped
        assert parse_staged(record.RECORD_TYPE, untyped) == record


def test_core_writes_outward_records_as_the_untyped_feed_did() -> None:
    # A status's one text is now the note for the applicant (issue 15): the untyped feed's
    # ``comment`` (the transition's, possibly internal) is no longer written.
    status = CaseStatusRecord.build(receipt=RECEIPT, status="in_review", status_seq=2,
                                    decision=None, applicant_note="", due_on=date(2026, 12, 3),
                                    overdue=False)
    assert status.payload() == {"receipt": RECEIPT, "status": "in_review", "status_seq": 2,
                                "decision": None, "applicant_note": "",
                                "due_on": "2026-12-03", "overdue": False}
    item = CatalogueItem.build(code="X-1", version=2, status="published",
                               department_name="市场监管局", doc={"name": "n", "fee": 0.5})
    assert item.payload() == {"code": "X-1", "version": 2, "status": "published",
                              "department_name": "市场监管局", "doc": {"name": "n", "fee": 0.5}}
    for record in (status, item):
        assert parse_record("outward", record.RECORD_TYPE, record.payload()) == record


def test_the_gateway_adds_materials_to_a_staged_application() -> None:
    staged = StagedApplicationResubmitted.build(receipt=RECEIPT, batch=1, submitted_at=NOW,
                                                materials=[M1])
    material = MaterialRef.model_validate(_material(b"%PDF-ok") | {"id": str(M1)})
    crossing = staged.with_materials([material])
    assert isinstance(crossing, ApplicationResubmitted)
    assert parse_record("inward", "application.resubmitted", crossing.payload()) == crossing
    assert crossing.payload()["submitted_at"] == NOW.isoformat()
    with pytest.raises(RecordRejected, match="may not cross inward"):
        parse_staged("case.status", {})


@pytest.mark.parametrize("form, why", [
    ({"n": 2**60}, "exceeds safe integer"), ({"n": float("nan")}, "not representable"),
])
def test_free_form_json_needs_a_canonical_form(form: dict[str, object], why: str) -> None:
    with pytest.raises(RecordRejected, match=f"form: .*{why}"):
        StagedApplicationSubmitted.build(
            receipt=RECEIPT, item_code="c", item_version=1,
            applicant={"kind": "person", "id_number": "320703199001011234", "name": "王"},
            form=form, submitted_at=NOW, batch=0, materials=[])


def test_build_raises_record_rejected_naming_the_field() -> None:
    with pytest.raises(RecordRejected, match=r"^feedback.rating: score: "):
        RatingRecord.build(receipt=RECEIPT, score=9)


def test_the_records_module_is_neutral() -> None:
    code = ("import sys, sunlight.runtime.records; print(sorted(m for m in sys.modules if "
            "m.startswith(('sunlight.runtime.portal', 'sunlight.runtime.gateway', "
            "'sunlight.runtime.core', 'sunlight.runtime.exchange', 'fastapi', 'sqlalchemy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_portal_refuses_a_form_that_could_not_cross() -> None:
    from sunlight.runtime.errors import ApiError
    from sunlight.runtime.portal.service import validate_form

    validate_form({"type": "object"}, {"n": 2**53 - 1})
    with pytest.raises(ApiError) as caught:
        validate_form({"type": "object"}, {"n": 2**53})
    assert caught.value.status == 422 and "canonical" in caught.value.detail


def test_docstring_examples() -> None:
    import doctest

    import sunlight.runtime.records

    result = doctest.testmod(sunlight.runtime.records, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
