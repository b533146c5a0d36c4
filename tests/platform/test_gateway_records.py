"""The gateway carries typed records: staged rows expanded with their verified bytes."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest

from sunlight.canonical import canonical_json
from sunlight.runtime.gateway.service import _digest, _expand
from sunlight.runtime.portal.models import Material, Outbox
from sunlight.runtime.records import ApplicationSubmitted, RecordRejected, parse_record

RECEIPT = "320703-20261128-000001"


class _Session:
    """Just enough of a session: the gateway only looks materials up by id."""

    def __init__(self, *materials: Material) -> None:
        self.materials = {m.id: m for m in materials}

    def get(self, model: type[Any], key: uuid.UUID) -> Material | None:
        assert model is Material
        return self.materials.get(key)


def _material(data: bytes, sha: str | None = None) -> Material:
    return Material(id=uuid.uuid4(), application_id=uuid.uuid4(), batch=0, name="营业执照",
                    filename="a.pdf", content_type="application/pdf", size=len(data),
                    sha256=sha or hashlib.sha256(data).hexdigest(), content=data)


def _row(refs: list[uuid.UUID]) -> Outbox:
    # A row as the portal stored it before its records were typed.
    return Outbox(id=uuid.uuid4(), record_type="application.submitted", payload={
        "receipt": RECEIPT, "item_code": "320703-SCJGJ-QT-001", "item_version": 1,
        "applicant": {"kind": "person", "id_number": "320703199001011234", "name": "王芳",
                      "phone": ""},
        "form": {"名称": "小吃店"}, "submitted_at": "2026-11-28T02:00:00.123456+00:00",
        "batch": 0, "materials": [str(r) for r in refs]})


def test_a_stored_row_crosses_with_its_materials_as_the_untyped_gateway_sent_it() -> None:
    pdf = _material(b"%PDF-1.7 ok")
    row = _row([pdf.id])
    record = _expand(_Session(pdf), row)  # type: ignore[arg-type]
    assert isinstance(record, ApplicationSubmitted)
    payload = record.payload()
    assert payload == {**row.payload, "materials": [{
        "id": str(pdf.id), "name": "营业执照", "filename": "a.pdf",
        "content_type": "application/pdf", "size": len(b"%PDF-1.7 ok"),
        "sha256": pdf.sha256, "content_b64": "JVBERi0xLjcgb2s="}]}
    assert parse_record("inward", row.record_type, payload) == record


def test_missing_or_altered_materials_reject_the_row() -> None:
    pdf = _material(b"%PDF-1.7 ok", sha="0" * 64)
    with pytest.raises(RecordRejected, match="do not match sha256"):
        _expand(_Session(pdf), _row([pdf.id]))  # type: ignore[arg-type]
    with pytest.raises(RecordRejected, match="is missing"):
        _expand(_Session(), _row([uuid.uuid4()]))  # type: ignore[arg-type]
    bad = _row([])
    bad.payload = {**bad.payload, "materials": ["not-a-uuid"]}
    with pytest.raises(RecordRejected, match=r"materials\.0"):
        _expand(_Session(), bad)  # type: ignore[arg-type]


def test_the_crossing_digest_is_sha256_of_the_canonical_json() -> None:
    payload: dict[str, object] = {"receipt": RECEIPT, "score": 5, "comment": "好"}
    assert _digest(payload) == hashlib.sha256(canonical_json(payload)).hexdigest()
    with pytest.raises(RecordRejected, match="no canonical JSON form"):
        _digest({"n": 2**60})
