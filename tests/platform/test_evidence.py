"""Evidence files on an enforcement case (调查取证): uploaded by a qualified officer of the
department while the case is open for investigation, size- and type-checked as materials
are, kept once per content; the investigate step must name uploaded files by SHA-256.

No PostgreSQL: the cases and evidence tables alone on SQLite; the registry, the item, the
account's certificate and the audit chain stubbed.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles

from sunlight.enforcement import flow
from sunlight.runtime.clock import Clock
from sunlight.runtime.core import enforcement, enforcement_exchange, evidence
from sunlight.runtime.core.api_enforcement import router
from sunlight.runtime.core.auth import Staff, current_staff
from sunlight.runtime.core.enforcement import check_evidence, record_to_json, uploaded_evidence
from sunlight.runtime.core.enforcement_models import EnforcementCaseRow, EvidenceRow
from sunlight.runtime.db import transaction
from sunlight.runtime.errors import ApiError, install_error_handlers
from sunlight.runtime.settings import DEFAULT_ALLOWED_TYPES, Settings
from tests.enforcement.builders import CHEN, MAJOR, OLD, WANG, item, opening, registry

TODAY = date(2026, 4, 1)
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
DEPT = "320703-SCJGJ"
PDF = b"%PDF-1.4\n% evidence\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
LIMIT = 4096
CERTIFICATES = {"wang.qiang": WANG, "chen.jing": CHEN, "zhou.jian": OLD, "new.one": None}
WANG_STAFF = Staff("wang.qiang", (flow.OFFICER,), DEPT)


@compiles(JSONB, "sqlite")
def _json_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "JSON"


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    EnforcementCaseRow.__table__.create(engine)  # type: ignore[attr-defined]
    EvidenceRow.__table__.create(engine)  # type: ignore[attr-defined]
    monkeypatch.setattr(enforcement, "bound_certificate",
                        lambda session, staff: CERTIFICATES[staff.username])
    monkeypatch.setattr(enforcement, "item_version", lambda session, code, version: item(code))
    monkeypatch.setattr(enforcement, "registry_in_force", lambda session: (1, registry()))
    return engine


@pytest.fixture
def audited(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(evidence, "audit", lambda session, site, **kw: calls.append(kw))
    return calls


def _case(engine: Engine, stage: flow.Stage = flow.Stage.opened) -> uuid.UUID:
    first = opening(on=TODAY)
    row = EnforcementCaseRow(
        id=uuid.uuid4(), site="320703", department=DEPT, item_code=MAJOR,
        item_version=item(MAJOR).version, stage=stage.value, party_kind=first.party.kind,
        party_name=first.party.name, party_id_number=first.party.id_number,
        records=[record_to_json(first)], band=None, override=False, registry_revision=1,
        opened_by="wang.qiang", opened_on=TODAY, created_at=NOW, updated_at=NOW)
    with transaction(engine) as session:
        session.add(row)
    return row.id


def _upload(engine: Engine, case_id: uuid.UUID, data: bytes = PDF,
            staff: Staff = WANG_STAFF, declared: str | None = "application/pdf",
            kind: str = "documentary", title: str = "销售单据",
            now: datetime = NOW) -> tuple[EvidenceRow, bool]:
    with transaction(engine) as session:
        return evidence.upload(session, "320703", staff, case_id, kind=kind, title=title,
                               filename="销售单据.pdf", declared_type=declared, data=data,
                               limit=LIMIT, types=DEFAULT_ALLOWED_TYPES, today=TODAY, now=now)


def _refused(engine: Engine, case_id: uuid.UUID, **kw: Any) -> ApiError:
    with pytest.raises(ApiError) as refused:
        _upload(engine, case_id, **kw)
    return refused.value


# -- the reference check (pure) ---------------------------------------------------------


def test_every_piece_of_evidence_names_an_uploaded_file() -> None:
    pdf, png = hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()
    check_evidence((flow.Evidence("record", "笔录", pdf), flow.Evidence("书证", "单据", png)),
                   {pdf, png})
    with pytest.raises(ApiError) as missing:
        check_evidence((flow.Evidence("record", "笔录", pdf), flow.Evidence("书证", "单据")),
                       {pdf, png})
    assert (missing.value.status, missing.value.code, missing.value.field) == (
        422, "invalid_input", "evidence[1].sha256")
    with pytest.raises(ApiError) as unknown:
        check_evidence((flow.Evidence("record", "笔录", "ab" * 32),), {pdf})
    assert unknown.value.field == "evidence[0].sha256"
    assert "ab" * 32 in unknown.value.detail and "POST …/evidence" in unknown.value.detail


def test_kinds_by_key_or_chinese_name() -> None:
    assert evidence.evidence_kind("documentary") == "documentary"
    assert evidence.evidence_kind(" 书证 ") == "documentary"
    with pytest.raises(ApiError) as bad:
        evidence.evidence_kind("rumour")
    assert (bad.value.status, bad.value.field) == (422, "kind")


# -- uploads ------------------------------------------------------------------------------


def test_upload_is_stored_once_per_content_and_audited(
        engine: Engine, audited: list[dict[str, Any]]) -> None:
    case_id = _case(engine)
    row, created = _upload(engine, case_id)
    digest = hashlib.sha256(PDF).hexdigest()
    assert created and (row.sha256, row.size, row.kind, row.content_type, row.certificate) == (
        digest, len(PDF), "documentary", "application/pdf", WANG)
    # The same bytes again (even described otherwise): the stored one, nothing new.
    again, created = _upload(engine, case_id, kind="record", title="另一个标题")
    assert not created and (again.id, again.kind, again.title) == (row.id, "documentary",
                                                                    "销售单据")
    # A PNG declared generically is typed by its signature.
    png, created = _upload(engine, case_id, data=PNG, declared="application/octet-stream",
                           kind="物证", now=NOW + timedelta(seconds=1))
    assert created and (png.content_type, png.kind) == ("image/png", "physical")
    assert [(a["action"], a["entity"], a["entity_id"]) for a in audited] == [
        ("evidence_uploaded", "enforcement_case", str(case_id))] * 2
    assert digest in audited[0]["comment"] and WANG in audited[0]["comment"]
    with transaction(engine) as session:
        assert uploaded_evidence(session, case_id) == {digest, png.sha256}
        assert [r.sha256 for r in evidence.list_evidence(session, WANG_STAFF, case_id)] == [
            digest, png.sha256]
        assert evidence.get_evidence(session, WANG_STAFF, case_id, digest).data == PDF
        with pytest.raises(ApiError) as absent:
            evidence.get_evidence(session, WANG_STAFF, case_id, "ab" * 32)
        assert absent.value.status == 404
        # Read access is the case's: another department sees no such case.
        with pytest.raises(ApiError) as other:
            evidence.list_evidence(session, Staff("x", (flow.OFFICER,), "320703-GAFJ"),
                                   case_id)
        assert other.value.status == 404
    # Another case does not hold the first case's files.
    other_case = _case(engine)
    with transaction(engine) as session:
        assert uploaded_evidence(session, other_case) == set()


def test_size_type_and_input_are_checked_as_materials_are(
        engine: Engine, audited: list[dict[str, Any]]) -> None:
    case_id = _case(engine)
    too_large = _refused(engine, case_id, data=b"%PDF-1.4\n" + b"0" * LIMIT)
    assert (too_large.status, too_large.field) == (413, "file") and str(LIMIT) in too_large.detail
    assert _refused(engine, case_id, data=b"MZ\x90\x00", declared="application/pdf").status == 415
    assert _refused(engine, case_id, data=b"MZ\x90\x00", declared=None).status == 415
    assert _refused(engine, case_id, kind="rumour").field == "kind"
    assert _refused(engine, case_id, title="  ").field == "title"
    with transaction(engine) as session:
        assert uploaded_evidence(session, case_id) == set()
    assert audited == []


@pytest.mark.parametrize(("staff", "status", "code"), [
    (Staff("clerk", ("clerk",), DEPT), 403, "wrong_role"),
    (Staff("new.one", (flow.OFFICER,), DEPT), 403, "unqualified_officer"),  # no certificate
    (Staff("zhou.jian", (flow.OFFICER,), DEPT), 403, "unqualified_officer"),  # expired
    (Staff("wang.qiang", (flow.OFFICER,), "320703-GAFJ"), 404, "not_found"),  # other dept
])
def test_only_a_qualified_officer_of_the_department_uploads(
        engine: Engine, audited: list[dict[str, Any]], staff: Staff, status: int,
        code: str) -> None:
    case_id = _case(engine)
    refused = _refused(engine, case_id, staff=staff)
    assert (refused.status, refused.code) == (status, code), refused.detail
    assert audited == []


@pytest.mark.parametrize("stage", [flow.Stage.notified, flow.Stage.decided, flow.Stage.closed])
def test_no_upload_once_investigation_is_over(engine: Engine, audited: list[dict[str, Any]],
                                              stage: flow.Stage) -> None:
    refused = _refused(engine, _case(engine, stage))
    assert (refused.status, refused.code) == (409, "illegal_transition")
    assert stage.value in refused.detail


def test_unknown_case_is_404(engine: Engine) -> None:
    assert _refused(engine, uuid.uuid4()).status == 404


# -- the investigate step ---------------------------------------------------------------


def test_investigation_names_files_uploaded_to_the_case(
        engine: Engine, audited: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enforcement, "audit", lambda session, site, **kw: None)
    monkeypatch.setattr(enforcement_exchange, "report_step", lambda *a, **kw: None)
    case_id = _case(engine)
    digest = _upload(engine, case_id)[0].sha256

    def investigate(*pieces: flow.Evidence) -> EnforcementCaseRow:
        with transaction(engine) as session:
            return enforcement.advance(
                session, "320703", WANG_STAFF, case_id, flow.Step.investigate,
                lambda on, by: flow.Investigation(on, by, (WANG, CHEN), pieces, "无证经营"),
                today=TODAY, now=NOW)

    for pieces, field in (
            ((flow.Evidence("documentary", "销售单据", digest),
              flow.Evidence("record", "现场检查笔录")), "evidence[1].sha256"),
            ((flow.Evidence("documentary", "销售单据", "ab" * 32),), "evidence[0].sha256")):
        with pytest.raises(ApiError) as refused:
            investigate(*pieces)
        assert (refused.value.status, refused.value.field) == (422, field)
    with transaction(engine) as session:
        row = session.get(EnforcementCaseRow, case_id)
        assert row is not None and [r["step"] for r in row.records] == ["open"]
    done = investigate(flow.Evidence("record", "现场检查笔录（照片）", digest))
    assert done.stage == "investigated"
    assert done.records[-1]["evidence"] == [
        {"kind": "record", "title": "现场检查笔录（照片）", "sha256": digest}]


# -- the routes -------------------------------------------------------------------------


class _Clock(Clock):
    def now(self) -> datetime:
        return NOW


def test_routes_upload_list_and_download(engine: Engine, audited: list[dict[str, Any]]) -> None:
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    app.state.engine, app.state.clock = engine, _Clock()
    app.state.settings = Settings(role="core", site_code="320703", database_url="sqlite://",
                                  token_secret="x" * 32, exchange_token="y" * 32,
                                  material_max_bytes=LIMIT)
    who = {"staff": WANG_STAFF}
    app.dependency_overrides[current_staff] = lambda: who["staff"]
    case_id = _case(engine)
    base = f"/api/v1/enforcement/cases/{case_id}"
    form = {"kind": "书证", "title": "销售单据"}
    with TestClient(app) as client:
        new = client.post(f"{base}/evidence", data=form,
                          files={"file": ("单据 1;x.pdf", PDF, "application/pdf")})
        assert new.status_code == 201, new.text
        body = new.json()
        assert (body["sha256"], body["size"], body["kind"], body["title"]) == (
            hashlib.sha256(PDF).hexdigest(), len(PDF), "documentary", "销售单据")
        again = client.post(f"{base}/evidence", data={"kind": "record", "title": "x"},
                            files={"file": ("copy.pdf", PDF, "application/pdf")})
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        big = client.post(f"{base}/evidence", data=form,
                          files={"file": ("big.pdf", b"%PDF-" + bytes(LIMIT), "application/pdf")})
        assert big.status_code == 413 and str(LIMIT) in big.json()["detail"]
        exe = client.post(f"{base}/evidence", data=form,
                          files={"file": ("a.pdf", b"MZ\x90\x00", "application/pdf")})
        assert exe.status_code == 415 and exe.json()["field"] == "file"
        assert client.post(f"{base}/evidence", data={"title": "x"}, files={
            "file": ("a.pdf", PDF, "application/pdf")}).status_code == 422
        listed = client.get(f"{base}/evidence")
        assert [e["sha256"] for e in listed.json()] == [body["sha256"]]
        got = client.get(f"{base}/evidence/{body['sha256']}")
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"] == (
            "attachment; filename*=UTF-8''%E5%8D%95%E6%8D%AE%201%3Bx.pdf")
        assert client.get(f"{base}/evidence/{'ab' * 32}").status_code == 404
        assert client.get(f"{base}/evidence/not-a-digest").status_code == 422
        who["staff"] = Staff("clerk", ("clerk",), DEPT)
        clerk = client.post(f"{base}/evidence", data=form,
                            files={"file": ("b.pdf", PDF + b"b", "application/pdf")})
        assert (clerk.status_code, clerk.json()["error"]) == (403, "wrong_role")
        assert client.get(f"{base}/evidence").status_code == 200  # the case's readers
    assert len(audited) == 1
