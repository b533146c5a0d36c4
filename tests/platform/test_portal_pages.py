"""The citizens' pages (issue 17, point 1) on the portal app as it is built for a host,
over a real (SQLite) database the gateway filled from the sample catalogue's documents.

Each page renders in Chinese with one h1 and labelled fields; the guide shows every field
of the catalogue, its blank forms download and its flowchart is an inert SVG; the apply
form is generated from the item's JSON Schema and a bad input comes back with each error
next to its field, in Chinese, the input kept and hostile text escaped; the journey
applies, uploads (plain form and the script's request), submits, gets a receipt, tracks,
complains and rates through the same service layer as the JSON API. None of these pages
existed before issue 17 (every URL below answered 404).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import BigInteger, Engine, create_engine, event, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles

from sunlight.catalogue import sample_catalogue
from sunlight.catalogue.journey import (
    ANNUAL_REPORT,
    ANNUAL_REPORT_MATERIAL,
    PDF,
    annual_report_application,
    annual_report_material,
)
from sunlight.runtime.core.licence_decision import LicenceDecision
from sunlight.runtime.core.licence_decision import render as licence_render
from sunlight.runtime.db import transaction
from sunlight.runtime.gateway.service import Moved, take_records
from sunlight.runtime.portal.app import create_app
from sunlight.runtime.portal.models import (
    DecisionDocumentEntry,
    GatewayCursor,
    ParkedOutward,
    PortalBase,
)
from sunlight.runtime.records import CaseStatus, CatalogueItem, DecisionDocument
from sunlight.workflow.identity import generate_credit_code
from tests.platform.role_settings import role_settings

FOOD = "320703-SCJGJ-XK-001"
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}\u202e<img src=x onerror=alert(2)>"
CREDIT = generate_credit_code(random.Random(7))


@compiles(JSONB, "sqlite")
def _json_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "JSON"


@compiles(BigInteger, "sqlite")
def _rowid_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "INTEGER"  # SQLite numbers rows only in an INTEGER PRIMARY KEY


def _feed(engine: Engine, *records: Any) -> None:
    """Records from core's feed, applied by the gateway as it applies them on a host."""
    with transaction(engine) as session:
        cursor = session.get(GatewayCursor, "core-outbound") or GatewayCursor(
            name="core-outbound", value=0)
        session.add(cursor)
        rows = [{"seq": cursor.value + n, "record_id": str(uuid.uuid4()),
                 "record_type": r.RECORD_TYPE, "payload": r.payload()}
                for n, r in enumerate(records, start=1)]
        moved = Moved()
        take_records(session, cursor, rows, moved)
        assert {k[2] for k in moved.counts} <= {"applied"}, moved.counts


def _published(**changes: Any) -> list[CatalogueItem]:
    out = []
    for item in sample_catalogue().published():
        doc = item.model_dump(mode="json")
        if item.code in changes:
            doc.update(changes[item.code])
        out.append(CatalogueItem.build(code=item.code, version=item.version, status="published",
                                       department_name=_dept(item.department), doc=doc))
    return out


def _dept(code: str) -> str:
    return sample_catalogue().departments_by_code()[code].name


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=ON"))
    PortalBase.metadata.create_all(engine)
    _feed(engine, *_published(**{"320703-WJW-JL-001": {"name": HOSTILE[:60]}}))
    yield engine
    engine.dispose()


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    app = create_app(role_settings("portal", material_max_bytes=64 * 1024))
    app.state.engine.dispose()
    app.state.engine = engine
    return app


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def _token(client: TestClient, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert found, url
    return found.group(1)


def _one_page(html: str) -> None:
    assert html.startswith("<!doctype html>\n<html lang=\"zh-CN\">")
    assert html.count("<h1") == 1
    for field_id in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html):
        assert f'for="{field_id}"' in html, f"field {field_id} has no label"


def _apply_values(**overrides: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "applicant_kind": "enterprise", "applicant_id": CREDIT,
        "applicant_name": "连云港海州湾餐饮有限公司", "applicant_phone": "0518-82310000",
        "f.enterprise_name": "连云港海州湾餐饮有限公司", "f.credit_code": CREDIT,
        "f.legal_representative": "王芳", "f.address": "连云区海棠北路 1 号",
        "f.town": "墟沟街道", "f.contact_phone": "13912345678",
        "f.business_premises": "连云区海棠北路 1 号一楼", "f.business_type": "餐饮服务经营者",
        "f.business_scope": ["热食类食品制售", "冷食类食品制售"],
        "f.premises_area_m2": "120.5", "f.food_safety_manager": "李强", "f.employees": "8",
        "f.online_sales": "false"}
    values.update(overrides)
    return values


def test_home_and_catalogue_by_department_category_and_search(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    _one_page(home.text)
    assert "连云区市场监督管理局" in home.text and "行政许可" in home.text
    assert 'href="/catalogue?department=320703-SCJGJ"' in home.text
    found = client.get("/catalogue", params={"q": "食品经营"})
    _one_page(found.text)
    assert "食品经营许可" in found.text and "工伤认定" not in found.text
    by_dept = client.get("/catalogue", params={"department": "320703-RSJ"}).text
    assert "工伤认定" in by_dept and "食品经营许可" not in by_dept
    by_category = client.get("/catalogue", params={"category": "reward"}).text
    assert "市场监管领域重大违法行为举报奖励" in by_category and "工伤认定" not in by_category
    # The search text is data: a wildcard matches itself only.
    assert "没有找到符合条件的事项" in client.get("/catalogue", params={"q": "%"}).text


def test_the_guide_shows_every_field_its_blank_forms_and_an_inert_flowchart(
        client: TestClient) -> None:
    item = sample_catalogue().item(FOOD)
    page = client.get(f"/items/{FOOD}")
    assert page.status_code == 200
    _one_page(page.text)
    for text in (item.legal_basis, item.place, item.contact_phone, item.supervision_phone,
                 "食品经营许可申请书", "营业执照或者其他主体资格证明文件复印件", "20 个工作日",
                 "10 个工作日", "不收费", "材料审查（审查审核，3 个工作日）"):
        assert text in page.text, text
    assert f'href="tel:{item.supervision_phone}"' in page.text
    assert f'<img src="/api/v1/catalogue/{FOOD}/flowchart.svg" alt="食品经营许可办理流程图：' \
        in page.text
    for position, form in enumerate(item.blank_forms):
        link = f"/api/v1/catalogue/{FOOD}/forms/{position}"
        assert f'href="{link}"' in page.text
        download = client.get(link)
        assert download.content == form.content
        assert download.headers["content-type"] == form.content_type
        assert download.headers["content-disposition"].startswith(
            "attachment; filename*=UTF-8''%E9%A3%9F")
    svg = client.get(f"/api/v1/catalogue/{FOOD}/flowchart.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in svg.text and "材料审查" in svg.text
    guide = client.get(f"/api/v1/catalogue/{FOOD}").json()
    assert guide["supervision_phone"] == item.supervision_phone
    assert [f["filename"] for f in guide["blank_forms"]] == [f.filename for f in
                                                             item.blank_forms]


def test_an_enforcement_item_has_a_guide_but_no_application(client: TestClient) -> None:
    page = client.get("/items/320703-SCJGJ-CF-001")
    assert "不接受在线申请" in page.text and "/apply" not in page.text
    assert client.get("/items/320703-SCJGJ-CF-001/apply").status_code == 409


def test_hostile_text_in_the_catalogue_is_shown_escaped_and_inert(client: TestClient) -> None:
    page = client.get("/items/320703-WJW-JL-001").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}⟨U+202E⟩" in page
    assert "49" not in page
    search = client.get("/catalogue", params={"q": HOSTILE[:90] + "\x00"}).text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}⟨U+202E⟩&lt;img' in search
    assert "<script>alert(1)" not in search and "49" not in search


def test_the_apply_form_is_generated_from_the_schema(client: TestClient) -> None:
    page = client.get(f"/items/{FOOD}/apply")
    _one_page(page.text)
    schema = sample_catalogue().item(FOOD).form_schema
    for prop in schema["properties"].values():
        assert str(prop["title"]) in page.text
    assert '<select id="f-f-business_type" name="f.business_type" required' in page.text
    assert 'name="f.business_scope" value="预包装食品销售"' in page.text
    assert '<label for="f-f-credit_code">统一社会信用代码<span class="required">' in page.text
    company = client.get("/items/320703-SCJGJ-XK-002/apply").text
    assert 'name="f.shareholders.0.name" type="text" value="" required' in company
    # A row past the first may stay blank.
    assert 'name="f.shareholders.1.name" type="text" value="" maxlength' in company
    assert "第 3 行" in company


def test_a_bad_application_comes_back_with_chinese_errors_next_to_fields(
        client: TestClient) -> None:
    token = _token(client, f"/items/{FOOD}/apply")
    values = _apply_values(**{"f.credit_code": "12345", "f.employees": "八",
                              "f.enterprise_name": HOSTILE, "f.business_type": "",
                              "applicant_id": ""})
    page = client.post(f"/items/{FOOD}/apply", data={**values, "csrf_token": token})
    assert page.status_code == 422
    _one_page(page.text)
    assert re.search(r'<p class="field-error" id="f-f-credit_code-error">格式不正确</p>\s*'
                     r'<input id="f-f-credit_code" name="f.credit_code" type="text" '
                     r'value="12345"', page.text)
    assert 'id="f-f-employees-error">请输入整数</p>' in page.text
    assert 'id="f-f-business_type-error">请填写此项</p>' in page.text
    assert 'id="f-applicant_id-error">请填写此项</p>' in page.text
    assert 'aria-invalid="true"' in page.text and 'id="error-summary"' in page.text
    assert 'value="连云区海棠北路 1 号"' in page.text  # what was right is kept
    assert 'value="冷食类食品制售" checked' in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}⟨U+202E⟩" in page.text
    assert "<script>alert(1)" not in page.text
    nul = client.post(f"/items/{FOOD}/apply", data={
        **_apply_values(**{"f.address": "海棠北路\x00"}), "csrf_token": token})
    assert nul.status_code == 422 and 'id="f-f-address-error">不能含有控制字符（NUL）' in nul.text


def test_a_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/track")
    refused = client.post("/track", data={"receipt": "x", "secret": "y"})
    assert refused.status_code == 403 and "请求未通过安全校验" in refused.text


def test_apply_upload_submit_receipt_track_complain_rate(client: TestClient,
                                                         engine: Engine) -> None:
    token = _token(client, f"/items/{ANNUAL_REPORT}/apply")
    created = client.post(f"/items/{ANNUAL_REPORT}/apply", data={
        "applicant_kind": "enterprise", "applicant_id": CREDIT, "applicant_name": "海州湾贸易",
        "f.enterprise_name": "海州湾贸易", "f.credit_code": CREDIT, "f.report_year": "2025",
        "f.enterprise_kind": "内资企业", "f.operating_status": "开业", "f.employees": "12",
        "f.has_website": "false", "csrf_token": token})
    assert created.status_code == 303, created.text
    materials = created.headers["location"]
    assert re.fullmatch(r"/applications/[^/]+/materials", materials)
    assert "__Host-sunlight_cases=" in created.headers["set-cookie"]
    assert "HttpOnly" in created.headers["set-cookie"]
    assert "SameSite=strict" in created.headers["set-cookie"]

    page = client.get(materials)
    _one_page(page.text)
    assert "未上传（必需）" in page.text and 'src="/static/pages/portal/upload.js?v=' in page.text
    early = client.post(materials.replace("/materials", "/submit"),
                        data={"csrf_token": token})
    assert early.status_code == 422 and f"以下必需材料尚未上传：{ANNUAL_REPORT_MATERIAL}" \
        in early.text
    wrong = client.post(materials, data={"name": ANNUAL_REPORT_MATERIAL, "csrf_token": token},
                        files={"file": ("a.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert wrong.status_code == 422, wrong.text
    assert "文件类型不允许" in wrong.text, re.findall("field-error[^<]*<", wrong.text)
    plain = client.post(materials, data={"name": "外商投资信息报告", "csrf_token": token},
                        files={"file": ("b.pdf", PDF, "application/pdf")})
    assert plain.status_code == 303 and plain.headers["location"] == materials
    scripted = client.post(materials, data={"name": ANNUAL_REPORT_MATERIAL,
                                            "csrf_token": token},
                           files={"file": ("report.pdf", PDF, "application/pdf")},
                           headers={"X-Requested-With": "XMLHttpRequest"})
    assert scripted.json() == {"next": materials}
    assert "已上传" in client.get(materials).text

    submitted = client.post(materials.replace("/materials", "/submit"),
                            data={"csrf_token": token})
    assert submitted.status_code == 303
    after = client.get(materials).text
    assert 'id="not-editable"' in after and 'id="upload-form"' not in after
    receipt_page = client.get(submitted.headers["location"])
    _one_page(receipt_page.text)
    receipt = re.search(r'id="receipt-number">([^<]+)<', receipt_page.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="tracking-secret">([^<]+)<', receipt_page.text).group(1)  # type: ignore[union-attr]

    # Another device: the receipt number and the secret open the case.
    other = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    other_token = _token(other, "/track")
    assert other.get(f"/applications/{receipt}").status_code == 404
    bad = other.post("/track", data={"receipt": receipt, "secret": "wrong",
                                     "csrf_token": other_token})
    assert bad.status_code == 422 and "受理编号或查询密码不正确" in bad.text
    found = other.post("/track", data={"receipt": receipt, "secret": secret,
                                       "csrf_token": other_token})
    assert found.headers["location"] == f"/applications/{receipt}"
    case = other.get(f"/applications/{receipt}").text
    _one_page(case)
    assert "已提交，等待受理" in case and "尚未作出决定" in case
    not_yet = other.post(f"/applications/{receipt}/rating",
                         data={"score": "5", "csrf_token": other_token})
    assert not_yet.status_code == 422 and "满意度：办结后才能评价。" in not_yet.text
    complained = other.post(f"/applications/{receipt}/complaint",
                            data={"text": "材料已齐全，为何还未受理？", "csrf_token": other_token})
    assert complained.status_code == 303
    assert "投诉已提交" in other.get(f"/applications/{receipt}").text

    # Core decides and closes: its status records reach the page and its history.
    _feed(engine,
          CaseStatus.build(receipt=receipt, status="in_review", status_seq=1),
          CaseStatus.build(receipt=receipt, status="closed", status_seq=4, decision="granted",
                           applicant_note="准予公示。"))
    closed = other.get(f"/applications/{receipt}").text
    assert "已办结" in closed and "准予" in closed and "准予公示。" in closed
    history = closed[closed.index('id="history-table"'):]
    assert history.index("已提交，等待受理") < history.index("审查中") < history.index("已办结")
    tracked = other.get(f"/api/v1/applications/{receipt}",
                        headers={"X-Tracking-Secret": secret}).json()
    assert [(h["status"], h["note"]) for h in tracked["history"]] == [
        ("sent", ""), ("in_review", ""), ("closed", "准予公示。")]
    rated = other.post(f"/applications/{receipt}/rating",
                       data={"score": "5", "comment": "很方便", "csrf_token": other_token})
    assert rated.status_code == 303
    again = other.post(f"/applications/{receipt}/rating",
                       data={"score": "4", "csrf_token": other_token})
    assert again.status_code == 422 and "您已评价过本件" in again.text


# The decision document (决定书) on the tracking page -------------------------------------


def _submitted(client: TestClient, credit: str) -> tuple[str, str]:
    """An annual report applied for and submitted through the JSON API: receipt, secret."""
    created = client.post("/api/v1/applications",
                          json=annual_report_application(credit)).json()
    headers = {"X-Tracking-Secret": created["secret"]}
    base = f"/api/v1/applications/{created['draft_id']}"
    assert client.post(f"{base}/materials", headers=headers,
                       **annual_report_material()).status_code == 201
    submitted = client.post(f"{base}/submit", headers=headers).json()
    return submitted["receipt"], created["secret"]


def _document(receipt: str, pdf: bytes, **changes: Any) -> DecisionDocument:
    fields: dict[str, Any] = {
        "receipt": receipt, "kind": "granted", "title": "准予行政许可决定书",
        "number": "连云市监许准〔2026〕1号", "decided_on": date(2026, 12, 2),
        "size": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest(), "content": pdf}
    return DecisionDocument.build(**{**fields, **changes})


@pytest.fixture(scope="module")
def decision_pdf() -> bytes:
    """A real decision document, rendered by core's renderer."""
    return licence_render(LicenceDecision(
        kind="granted", number="连云市监许准〔2026〕1号", department="连云区市场监督管理局",
        item_code=ANNUAL_REPORT, item_name="企业年度报告公示",
        legal_basis="《企业信息公示暂行条例》",
        receipt="320703-20261202-000001", applicant_kind="enterprise",
        applicant_name="海州湾贸易", applicant_id=CREDIT, submitted_on=date(2026, 12, 1),
        decided_on=date(2026, 12, 2))).pdf


def test_the_decision_document_downloads_for_its_applicant_only(
        client: TestClient, engine: Engine, decision_pdf: bytes) -> None:
    receipt, secret = _submitted(client, CREDIT)
    other_receipt, other_secret = _submitted(client, generate_credit_code(random.Random(8)))
    mine = {"X-Tracking-Secret": secret}
    before = client.get(f"/api/v1/applications/{receipt}", headers=mine).json()
    assert before["has_decision_document"] is False and before["decision_document"] is None
    assert client.get(f"/api/v1/applications/{receipt}/decision.pdf",
                      headers=mine).json()["error"] == "no_decision_document"

    _feed(engine, CaseStatus.build(receipt=receipt, status="decided", status_seq=5,
                                   decision="granted"),
          _document(receipt, decision_pdf))
    tracked = client.get(f"/api/v1/applications/{receipt}", headers=mine).json()
    assert tracked["has_decision_document"] is True
    listed = tracked["decision_document"]
    assert listed["number"] == "连云市监许准〔2026〕1号" and listed["title"] == "准予行政许可决定书"
    assert listed["sha256"] == hashlib.sha256(decision_pdf).hexdigest()
    download = client.get(listed["url"], headers=mine)
    assert download.status_code == 200 and download.content == decision_pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    assert download.headers["x-content-type-options"] == "nosniff"

    # The tracking page, opened with the receipt and the secret, links to it.
    token = _token(client, "/track")
    client.post("/track", data={"receipt": receipt, "secret": secret, "csrf_token": token})
    page = client.get(f"/applications/{receipt}").text
    _one_page(page)
    assert "<dt>决定书</dt>" in page and "下载准予行政许可决定书（连云市监许准〔2026〕1号" in page
    link = f'href="/applications/{receipt}/decision.pdf"'
    assert link in page
    got = client.get(f"/applications/{receipt}/decision.pdf")
    assert got.status_code == 200 and got.content == decision_pdf
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "%E5%87%86%E4%BA%88" in got.headers["content-disposition"]  # 准予 in the name

    # Nobody else: a wrong secret, another case's secret, a visitor who never proved it.
    for headers in ({"X-Tracking-Secret": "wrong"}, {"X-Tracking-Secret": other_secret}, {}):
        refused = client.get(f"/api/v1/applications/{receipt}/decision.pdf", headers=headers)
        assert refused.status_code == 404 and refused.json()["error"] == "not_found"
        assert decision_pdf not in refused.content
    stranger = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    denied = stranger.get(f"/applications/{receipt}/decision.pdf")
    assert denied.status_code == 404 and "找不到该办件" in denied.text
    assert denied.headers["content-type"].startswith("text/html")
    wrong = stranger.post("/track", data={"receipt": receipt, "secret": other_secret,
                                          "csrf_token": _token(stranger, "/track")})
    assert wrong.status_code == 422
    assert stranger.get(f"/applications/{receipt}/decision.pdf").status_code == 404
    # The other case (decided or not) shows no document and has none to download.
    other_page = client.post("/track", data={"receipt": other_receipt, "secret": other_secret,
                                             "csrf_token": token})
    assert other_page.status_code == 303
    assert "决定书" not in client.get(f"/applications/{other_receipt}").text
    none = client.get(f"/applications/{other_receipt}/decision.pdf")
    assert none.status_code == 404 and "尚无决定书" in none.text


def test_a_document_that_fails_its_hash_or_the_size_limit_is_parked_not_stored(
        engine: Engine, client: TestClient, decision_pdf: bytes) -> None:
    receipt, secret = _submitted(client, CREDIT)
    good = _document(receipt, decision_pdf).payload()
    forged = {**good, "content": base64.b64encode(decision_pdf + b"%").decode(),
              "size": len(decision_pdf) + 1}
    with transaction(engine) as session:
        cursor = session.get(GatewayCursor, "core-outbound")
        assert cursor is not None
        cursor.value = 100
        moved = Moved()
        take_records(session, cursor, [
            {"seq": 101, "record_id": str(uuid.uuid4()), "record_type": "case.document",
             "payload": forged},
            {"seq": 102, "record_id": str(uuid.uuid4()), "record_type": "case.document",
             "payload": good}], moved, max_document_bytes=len(decision_pdf) - 1)
        assert moved.counts == {("out", "case.document", "parked"): 2}
        reasons = [p.reason for p in session.scalars(select(ParkedOutward)
                                                     .order_by(ParkedOutward.seq))]
        assert "does not match its sha256" in reasons[0]
        assert "over the material size limit" in reasons[1]
        assert session.scalars(select(DecisionDocumentEntry)).all() == []
    assert client.get(f"/api/v1/applications/{receipt}", headers={
        "X-Tracking-Secret": secret}).json()["has_decision_document"] is False
