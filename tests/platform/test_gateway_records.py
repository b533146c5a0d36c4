"""The gateway carries typed records: staged rows expanded with references to their
verified materials, which cross one by one ahead of the record.

Before issue 15 the gateway inlined every material of a case, base64, into the record's one
body (``content_b64``): ``_expand`` returned the record alone and its payload held the bytes,
so the tests below fail there (the first on the payload's shape, the last on the requests
sent: one POST, no PUT per material).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sunlight.canonical import canonical_json
from sunlight.runtime.gateway.service import Moved, Retry, _digest, _expand, carry_rows
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


def test_a_stored_row_crosses_naming_its_materials_without_their_bytes() -> None:
    pdf = _material(b"%PDF-1.7 ok")
    row = _row([pdf.id])
    record, materials = _expand(_Session(pdf), row)  # type: ignore[arg-type]
    assert isinstance(record, ApplicationSubmitted) and materials == [pdf]
    payload = record.payload()
    assert payload == {**row.payload, "materials": [{
        "id": str(pdf.id), "name": "营业执照", "filename": "a.pdf",
        "content_type": "application/pdf", "size": len(b"%PDF-1.7 ok"),
        "sha256": pdf.sha256}]}
    assert "content_b64" not in json.dumps(payload)
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


class _Recording(_Session):
    def add(self, obj: Any) -> None:
        pass


def test_materials_cross_one_per_request_before_the_record() -> None:
    big = [_material(b"%PDF-1.7 " + bytes([i]) * 300_000) for i in range(3)]
    row = _row([m.id for m in big])
    row.attempts, row.last_error = 0, ""
    seen: list[httpx.Request] = []

    def core(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"outcome": "applied"})

    client = httpx.Client(transport=httpx.MockTransport(core), base_url="http://core")
    carry_rows(_Recording(*big), [row], client, Retry(), datetime.now(UTC),  # type: ignore[arg-type]
               Moved())
    assert [(r.method, r.url.path) for r in seen] == [
        *[("PUT", f"/api/v1/exchange/materials/{m.id}") for m in big],
        ("POST", "/api/v1/exchange/records")]
    for request, m in zip(seen, big, strict=False):
        assert request.content == m.content and request.url.params["sha256"] == m.sha256
    assert len(seen[-1].content) < 4096  # the record names them; no bytes inside
    assert row.delivered_at is not None


def test_a_material_core_refuses_charges_the_row_and_the_record_is_not_sent() -> None:
    pdf = _material(b"%PDF-1.7 ok")
    row = _row([pdf.id])
    row.attempts, row.last_error = 0, ""
    seen: list[str] = []

    def core(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(422, json={"error": "material_rejected", "detail": "bad"})

    client = httpx.Client(transport=httpx.MockTransport(core), base_url="http://core")
    carry_rows(_Recording(pdf), [row], client, Retry(), datetime.now(UTC),  # type: ignore[arg-type]
               Moved())
    assert seen == ["PUT"] and row.delivered_at is None and row.attempts == 1
    assert row.last_error == f"material {pdf.id}: core answered 422: bad"


def test_the_crossing_digest_is_sha256_of_the_canonical_json() -> None:
    payload: dict[str, object] = {"receipt": RECEIPT, "score": 5, "comment": "好"}
    assert _digest(payload) == hashlib.sha256(canonical_json(payload)).hexdigest()
    with pytest.raises(RecordRejected, match="no canonical JSON form"):
        _digest({"n": 2**60})
