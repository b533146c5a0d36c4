"""The gateway's whitelist: only known record types cross, each strictly validated."""

from __future__ import annotations

import base64
import hashlib

import pytest

from sunlight.runtime.gateway.records import INWARD, OUTWARD, RecordRejected, parse_record
from sunlight.workflow.machine import CaseStatus

RECEIPT = "320703-20261128-000001"


def _material(data: bytes, sha: str | None = None) -> dict[str, object]:
    return {"id": "m1", "name": "材料", "filename": "a.pdf", "content_type": "application/pdf",
            "size": len(data), "sha256": sha or hashlib.sha256(data).hexdigest(),
            "content_b64": base64.b64encode(data).decode()}


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


def test_material_bytes_must_match_their_hash() -> None:
    rec = parse_record("inward", "application.resubmitted", {
        "receipt": RECEIPT, "batch": 1, "submitted_at": "2026-11-28T10:00:00+08:00",
        "materials": [_material(b"%PDF-ok")]})
    assert rec.materials[0].content() == b"%PDF-ok"  # type: ignore[attr-defined]
    bad = parse_record("inward", "application.resubmitted", {
        "receipt": RECEIPT, "batch": 1, "submitted_at": "2026-11-28T10:00:00+08:00",
        "materials": [_material(b"%PDF-ok", sha="0" * 64)]})
    with pytest.raises(ValueError, match="do not match"):
        bad.materials[0].content()  # type: ignore[attr-defined]


def test_case_status_must_be_a_workflow_status() -> None:
    for status in CaseStatus:
        parse_record("outward", "case.status",
                     {"receipt": RECEIPT, "status": status.value, "status_seq": 1})
    with pytest.raises(RecordRejected, match="unknown case status"):
        parse_record("outward", "case.status",
                     {"receipt": RECEIPT, "status": "deleted", "status_seq": 1})
