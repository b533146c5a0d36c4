"""Core's staff pages (issue 17, point 2) through FastAPI's TestClient against core's own
app (create_app), on core's whole database in SQLite (tests/platform/core_sqlite.py):
sign-in and sign-out, session time-out and revocation, the work queue by role, the case
page with materials, history, due date and the actions with the reason any is
unavailable, taking an action, hostile text shown inert, and the admin's account and
catalogue pages.

The same pages in a real browser, on the topology: wip/17-browser's Playwright suite."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from sunlight.catalogue import sample_catalogue
from sunlight.catalogue.io_excel import dump_excel
from sunlight.catalogue.io_yaml import dump_yaml
from sunlight.catalogue.model import ItemStatus
from sunlight.runtime.clock import ManualClock
from sunlight.runtime.core import accounts, auth, catalogue_store
from sunlight.runtime.core.app import create_app
from sunlight.runtime.core.models import (
    Account,
    AuditLog,
    Case,
    CaseEvent,
    CaseMaterial,
    Item,
    StaffSession,
)
from sunlight.runtime.core.staff_sessions import refusal
from sunlight.runtime.db import transaction
from sunlight.workflow.deadlines import due_date
from tests.platform.core_sqlite import core_engine
from tests.platform.role_settings import role_settings

SITE = "320703"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in China, a Tuesday
PDF = b"%PDF-1.4\n% material\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}\u202eevil\u0007"
RECEIPT = f"{SITE}-20261201-000001"


class World:
    def __init__(self, engine: Engine, clock: ManualClock, client: TestClient,
                 passwords: dict[str, str], case_id: uuid.UUID, material_id: uuid.UUID,
                 item: Item) -> None:
        self.engine, self.clock, self.client = engine, clock, client
        self.passwords, self.case_id, self.material_id, self.item = (
            passwords, case_id, material_id, item)

    def sign_in(self, username: str, *, client: TestClient | None = None) -> Any:
        client = client or self.client
        return client.post("/staff/sign-in", data={
            "username": username, "password": self.passwords[username],
            "csrf_token": token(client, "/staff/sign-in")}, follow_redirects=False)

    def new_client(self) -> TestClient:
        return TestClient(self.client.app, base_url="https://testserver",
                          raise_server_exceptions=False)


def token(client: TestClient, path: str) -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, (page.status_code, page.text[:500])
    return found.group(1)


@dataclass
class Seed:
    """Core's database with the sample catalogue, five accounts and one case, built once
    per module and copied for each test."""

    path: Path
    passwords: dict[str, str]
    case_id: uuid.UUID
    material_id: uuid.UUID
    item: Item


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    with pytest.MonkeyPatch.context() as patch:
        # argon2 still, with the cheapest parameters: the tests sign in dozens of times.
        patch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                      parallelism=1))
        path = tmp_path_factory.mktemp("core") / "core.db"
        engine = core_engine(path)
        passwords: dict[str, str] = {}
        catalogue = sample_catalogue()
        with transaction(engine) as session:
            catalogue_store.import_catalogue(session, SITE, catalogue, "setup")
            item = next(i for i in catalogue_store.list_items(session, "published")
                        if [s["role"] for s in i.doc["flow"]] == [  # type: ignore[index,union-attr]
                            "clerk", "reviewer", "approver", "clerk"])
            dept = item.department
            elsewhere = next(d.code for d in catalogue.departments if d.code != dept)
            for name, roles, department in (
                    ("li.clerk", ["clerk"], dept), ("wang.review", ["reviewer"], dept),
                    ("zhao.approve", ["approver", "clerk"], dept),
                    ("sun.admin", ["admin"], None), ("zhou.watch", ["supervisor"], dept),
                    ("far.clerk", ["clerk"], elsewhere)):
                passwords[name] = accounts.create_account(session, SITE, name, roles,
                                                          department, f"<i>{name}</i>")
            case = Case(receipt=RECEIPT, item_code=item.code, item_version=item.version,
                        department=dept, applicant_kind="person",
                        applicant_id="110101199003070000", applicant_name=HOSTILE,
                        form={"note": HOSTILE}, status="submitted", step_index=0,
                        submitted_on=date(2026, 12, 1), limit_days=10, paused=[],
                        due_on=due_date(date(2026, 12, 1), 10), status_seq=0)
            session.add(case)
            session.flush()
            material_id = uuid.uuid4()
            session.add(CaseMaterial(id=material_id, case_id=case.id, batch=1, name="营业执照",
                                     filename="营业执照 1.pdf", content_type="application/pdf",
                                     size=len(PDF), sha256="0" * 64, content=PDF))
            session.add(CaseEvent(case_id=case.id, at=NOW, actor="applicant",
                                  role="applicant", action="submit", from_status=None,
                                  to_status="submitted", comment=HOSTILE))
            case_id = case.id
            session.expunge(item)
        engine.dispose()
        yield Seed(path, passwords, case_id, material_id, item)


@pytest.fixture
def world(seed: Seed, tmp_path: Path) -> Iterator[World]:
    path = tmp_path / "core.db"
    shutil.copy(seed.path, path)
    engine = core_engine(path)
    app = create_app(role_settings("core", staff_session_idle_minutes=30))
    app.state.engine.dispose()
    app.state.engine, app.state.clock = engine, ManualClock(NOW)
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                      parallelism=1))
        yield World(engine, app.state.clock, client, dict(seed.passwords), seed.case_id,
                    seed.material_id, seed.item)
    engine.dispose()


def _case(world: World) -> Case:
    with transaction(world.engine) as session:
        case = session.get(Case, world.case_id)
        assert case is not None
        session.expunge(case)
        return case


# Sign in and out.

def test_sign_in_page_is_chinese_labelled_and_has_one_h1(world: World) -> None:
    page = world.client.get("/staff/sign-in")
    assert page.status_code == 200 and '<html lang="zh-CN">' in page.text
    assert page.text.count("<h1") == 1
    for field, label in (("username", "用户名"), ("password", "密码"), ("totp", "动态验证码")):
        assert f'<label for="f-{field}">{label}' in page.text
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_pages_need_sign_in_and_come_back_after_it(world: World) -> None:
    for path in ("/staff/", f"/staff/cases/{world.case_id}", "/staff/admin/accounts"):
        away = world.client.get(path, follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"].startswith(
            "/staff/sign-in?next="), path
    back = world.client.post("/staff/sign-in", data={
        "username": "li.clerk", "password": world.passwords["li.clerk"],
        "next": f"/staff/cases/{world.case_id}",
        "csrf_token": token(world.client, "/staff/sign-in")}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/staff/cases/{world.case_id}"
    assert world.client.get("/", follow_redirects=False).headers["location"] == "/staff/"


def test_signing_in_sets_a_strict_secure_session_cookie_and_keeps_only_its_hash(
        world: World) -> None:
    signed = world.sign_in("li.clerk")
    assert signed.status_code == 303 and signed.headers["location"] == "/staff/"
    (cookie,) = [c for c in signed.headers.get_list("set-cookie")
                 if c.startswith("__Host-sunlight_staff=")]
    lowered = cookie.lower()
    assert "httponly" in lowered and "secure" in lowered and "samesite=strict" in lowered
    assert "max-age" not in lowered and "domain=" not in lowered
    sid = cookie.split(";")[0].split("=", 1)[1]
    with transaction(world.engine) as session:
        (row,) = session.scalars(select(StaffSession))
        assert row.id_hash != sid and len(row.id_hash) == 64 and row.username == "li.clerk"
    assert "&lt;i&gt;li.clerk&lt;/i&gt;（li.clerk）" in world.client.get("/staff/").text


def test_a_wrong_password_is_refused_next_to_the_field_counted_and_audited(
        world: World) -> None:
    page = world.client.post("/staff/sign-in", data={
        "username": "li.clerk", "password": "not the password",
        "csrf_token": token(world.client, "/staff/sign-in")})
    assert page.status_code == 401
    assert 'id="f-password-error">用户名或密码不正确<' in page.text
    assert 'value="li.clerk"' in page.text and "not the password" not in page.text
    with transaction(world.engine) as session:
        assert session.scalars(select(AuditLog.to_state).where(
            AuditLog.action == "sign_in_refused")).all() == ["wrong_password"]


def test_empty_sign_in_fields_are_re_validated_on_the_server(world: World) -> None:
    page = world.client.post("/staff/sign-in", data={
        "username": "", "password": "", "csrf_token": token(world.client, "/staff/sign-in")})
    assert page.status_code == 422
    assert 'id="f-username-error">请填写此项<' in page.text
    assert 'id="f-password-error">请填写此项<' in page.text


def test_sign_in_without_the_csrf_token_is_refused(world: World) -> None:
    world.client.get("/staff/sign-in")
    refused = world.client.post("/staff/sign-in", data={
        "username": "li.clerk", "password": world.passwords["li.clerk"]})
    assert refused.status_code == 403 and "请求未通过安全校验" in refused.text
    with transaction(world.engine) as session:
        assert session.scalars(select(StaffSession)).all() == []


def test_signing_out_ends_the_session_on_the_server(world: World) -> None:
    world.sign_in("li.clerk")
    out = world.client.post("/staff/sign-out", data={"csrf_token": token(world.client,
                                                                         "/staff/")},
                            follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/staff/sign-in"
    with transaction(world.engine) as session:
        assert session.scalars(select(StaffSession)).all() == []
    assert world.client.get("/staff/", follow_redirects=False).status_code == 303


def test_an_idle_session_times_out_with_a_clear_page(world: World) -> None:
    world.sign_in("li.clerk")
    world.clock.advance(timedelta(minutes=29))
    assert world.client.get("/staff/").status_code == 200
    world.clock.advance(timedelta(minutes=31))
    expired = world.client.get(f"/staff/cases/{world.case_id}")
    assert expired.status_code == 401 and "会话已过期" in expired.text
    assert 'href="/staff/sign-in"' in expired.text and "Traceback" not in expired.text
    with transaction(world.engine) as session:
        assert session.scalars(select(StaffSession)).all() == []


def test_disabling_an_account_ends_its_sessions(world: World) -> None:
    world.sign_in("li.clerk")
    with transaction(world.engine) as session:
        accounts.set_active(session, SITE, "li.clerk", False)
    assert world.client.get("/staff/", follow_redirects=False).status_code == 303


# The work queue and the case page.

def test_the_queue_shows_the_cases_waiting_for_the_role(world: World) -> None:
    world.sign_in("li.clerk")
    page = world.client.get("/staff/")
    assert page.status_code == 200 and page.text.count("<h1") == 1
    assert f'id="case-{RECEIPT}"' in page.text and "待受理" in page.text
    assert "受理、不予受理、补正告知" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}⟨U+202E⟩evil⟨U+0007⟩" in page.text
    world.client.post("/staff/sign-out", data={"csrf_token": token(world.client, "/staff/")})
    world.sign_in("wang.review")
    assert RECEIPT not in world.client.get("/staff/").text
    found = world.client.get("/staff/cases/find", params={"receipt": RECEIPT},
                             follow_redirects=False)
    assert found.headers["location"] == f"/staff/cases/{world.case_id}"


def test_the_case_page_shows_everything_and_hostile_text_inert(world: World) -> None:
    world.sign_in("li.clerk")
    page = world.client.get(f"/staff/cases/{world.case_id}")
    assert page.status_code == 200 and page.text.count("<h1") == 1
    text = page.text
    assert "<script>alert(1)" not in text and "\u202e" not in text and ">49<" not in text
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}⟨U+202E⟩evil⟨U+0007⟩") == 3
    assert "2026年12月15日" in text  # due in 10 working days
    assert 'id="case-remaining">10 个工作日' in text
    assert "营业执照 1.pdf" in text and f"/materials/{world.material_id}/preview" in text
    assert "2026年12月1日 10:00" in text  # the history, in China's time
    for action in ("accept", "refuse", "request_correction"):
        assert f'id="form-{action}"' in text
    assert '<label for="f-refuse-comment">内部意见（说明理由）' in text


def test_actions_unavailable_to_the_person_say_why(world: World) -> None:
    world.sign_in("wang.review")
    page = world.client.get(f"/staff/cases/{world.case_id}").text
    assert 'id="form-accept"' not in page
    assert 'id="action-accept-reason">不能办理：需要「受理人员」岗位，您的岗位是审查人员' in page
    watcher = world.new_client()
    world.sign_in("zhou.watch", client=watcher)
    page = watcher.get(f"/staff/cases/{world.case_id}").text
    assert 'id="action-accept-reason">不能办理：监察室人员只监督案件，不能办理（岗位分离）' in page


def test_taking_an_action_moves_the_case_and_the_history_shows_it(world: World) -> None:
    world.sign_in("li.clerk")
    csrf = token(world.client, f"/staff/cases/{world.case_id}")
    done = world.client.post(f"/staff/cases/{world.case_id}/actions/accept", data={
        "comment": "材料齐全", "applicant_note": "", "csrf_token": csrf},
        follow_redirects=False)
    assert done.status_code == 303
    assert _case(world).status == "in_review"
    page = world.client.get(done.headers["location"]).text
    assert f"已受理：案件 {RECEIPT}" in page and "待受理 → 审查中" in page
    assert 'id="case-status">审查中<' in page
    assert 'id="action-approve_step-reason">不能办理：需要「审查人员」岗位' in page


def test_an_action_needing_a_reason_is_refused_without_one_and_keeps_the_input(
        world: World) -> None:
    world.sign_in("li.clerk")
    csrf = token(world.client, f"/staff/cases/{world.case_id}")
    page = world.client.post(f"/staff/cases/{world.case_id}/actions/refuse", data={
        "comment": "  ", "applicant_note": "<b>请补充</b>", "csrf_token": csrf})
    assert page.status_code == 422
    assert 'id="f-refuse-comment-error">「不予受理」必须填写意见，说明理由<' in page.text
    assert "&lt;b&gt;请补充&lt;/b&gt;</textarea>" in page.text
    nul = world.client.post(f"/staff/cases/{world.case_id}/actions/accept", data={
        "comment": "a\x00b", "csrf_token": csrf})
    assert nul.status_code == 422 and 'id="f-accept-comment-error">不能包含空字符' in nul.text
    assert _case(world).status == "submitted"


def test_an_action_the_state_no_longer_allows_is_refused_and_nothing_changes(
        world: World) -> None:
    world.sign_in("zhao.approve")
    csrf = token(world.client, f"/staff/cases/{world.case_id}")
    page = world.client.post(f"/staff/cases/{world.case_id}/actions/grant",
                             data={"comment": "", "csrf_token": csrf})
    assert page.status_code == 409 and "案件状态已经改变" in page.text
    assert _case(world).status == "submitted"
    with transaction(world.engine) as session:
        assert session.scalars(select(CaseEvent.action)).all() == ["submit"]


def test_a_forged_action_without_the_token_changes_nothing(world: World) -> None:
    world.sign_in("li.clerk")
    refused = world.client.post(f"/staff/cases/{world.case_id}/actions/accept",
                                data={"comment": "x", "csrf_token": "forged"})
    assert refused.status_code == 403 and _case(world).status == "submitted"


def test_materials_download_and_preview_with_their_disposition(world: World) -> None:
    world.sign_in("li.clerk")
    base = f"/staff/cases/{world.case_id}/materials/{world.material_id}"
    download = world.client.get(base)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E8%90%A5" in download.headers["content-disposition"]
    preview = world.client.get(f"{base}/preview")
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.headers["content-disposition"].startswith("inline;")
    assert preview.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in preview.headers["content-security-policy"]
    other = world.client.get(f"/staff/cases/{world.case_id}/materials/{uuid.uuid4()}")
    assert other.status_code == 404 and "材料不存在" in other.text


def test_another_departments_case_and_a_bad_id_are_404_pages(world: World) -> None:
    world.sign_in("far.clerk")
    for path in (f"/staff/cases/{world.case_id}", "/staff/cases/not-a-uuid", "/staff/nowhere"):
        page = world.client.get(path)
        assert page.status_code == 404 and "Traceback" not in page.text, path
        assert page.headers["content-type"].startswith("text/html"), path


# Admin pages.

def test_only_the_admin_reaches_the_admin_pages(world: World) -> None:
    world.sign_in("li.clerk")
    page = world.client.get("/staff/admin/accounts")
    assert page.status_code == 403 and "仅限系统管理员" in page.text
    assert "账户管理" not in world.client.get("/staff/").text


def test_the_admin_adds_an_account_and_the_password_is_shown_once(world: World) -> None:
    world.sign_in("sun.admin")
    csrf = token(world.client, "/staff/admin/accounts/new")
    page = world.client.post("/staff/admin/accounts/new", data={
        "username": "qian.clerk", "display_name": "钱<b>", "roles": ["clerk"],
        "department": world.item.department, "csrf_token": csrf})
    assert page.status_code == 201
    password = re.search(r'id="new-password">([^<]+)<', page.text)
    assert password is not None
    with transaction(world.engine) as session:
        account = session.get(Account, "qian.clerk")
        assert account is not None and account.roles == ["clerk"]
        assert account.display_name == "钱<b>"
    assert "钱&lt;b&gt;" in world.client.get("/staff/admin/accounts").text
    world.passwords["qian.clerk"] = password.group(1)
    assert world.sign_in("qian.clerk", client=world.new_client()).status_code == 303


def test_a_bad_account_is_re_rendered_with_each_error_by_its_field(world: World) -> None:
    world.sign_in("sun.admin")
    csrf = token(world.client, "/staff/admin/accounts/new")
    page = world.client.post("/staff/admin/accounts/new", data={
        "username": "<bad name>", "display_name": "", "csrf_token": csrf})
    assert page.status_code == 422
    assert 'id="f-username-error">格式不正确<' in page.text
    assert 'id="f-display_name-error">请填写此项<' in page.text
    assert 'id="f-roles-error">至少选择 1 项<' in page.text
    assert 'value="&lt;bad name&gt;"' in page.text
    conflict = world.client.post("/staff/admin/accounts/new", data={
        "username": "mixed", "display_name": "混", "roles": ["clerk", "supervisor"],
        "department": world.item.department, "csrf_token": csrf})
    assert conflict.status_code == 422 and 'id="f-roles-error">岗位不符合要求' in conflict.text
    assert 'value="supervisor" checked' in conflict.text
    with transaction(world.engine) as session:
        assert session.get(Account, "mixed") is None


def test_the_admin_changes_roles_and_disables_an_account(world: World) -> None:
    world.sign_in("sun.admin")
    csrf = token(world.client, "/staff/admin/accounts/li.clerk")
    changed = world.client.post("/staff/admin/accounts/li.clerk/roles", data={
        "roles": ["clerk", "reviewer"], "csrf_token": csrf}, follow_redirects=False)
    assert changed.status_code == 303
    disabled = world.client.post("/staff/admin/accounts/li.clerk/active", data={
        "active": "0", "csrf_token": csrf}, follow_redirects=False)
    assert disabled.status_code == 303
    with transaction(world.engine) as session:
        account = session.get(Account, "li.clerk")
        assert account is not None and account.roles == ["clerk", "reviewer"]
        assert not account.active
    page = world.client.get("/staff/admin/accounts/li.clerk").text
    assert 'id="account-status">已停用<' in page and 'id="enable-form"' in page
    own = world.client.get("/staff/admin/accounts/sun.admin").text
    assert 'id="disable-reason"' in own and 'id="disable-form"' not in own


def test_the_admin_imports_yaml_and_excel_and_publishes(world: World, tmp_path: Path) -> None:
    world.sign_in("sun.admin")
    csrf = token(world.client, "/staff/admin/catalogue/import")
    bad = world.client.post("/staff/admin/catalogue/import", data={"csrf_token": csrf},
                            files={"document": ("c.yaml", b"items: [", "application/yaml")})
    assert bad.status_code == 422 and 'id="f-document-error">目录文件有误' in bad.text
    wrong = world.client.post("/staff/admin/catalogue/import", data={"csrf_token": csrf},
                              files={"document": ("c.txt", b"x", "text/plain")})
    assert wrong.status_code == 422 and ".xlsx" in wrong.text
    catalogue = sample_catalogue()
    item = catalogue.items[0]
    newer = item.model_copy(update={"version": item.version + 7, "status": ItemStatus.DRAFT,
                                    "name": "新版<事项>"})
    catalogue = catalogue.model_copy(update={"items": [*catalogue.items, newer]})
    done = world.client.post("/staff/admin/catalogue/import", data={"csrf_token": csrf},
                             files={"document": ("c.yaml", dump_yaml(catalogue).encode(),
                                                 "application/yaml")},
                             follow_redirects=False)
    assert done.status_code == 303, done.text
    items = world.client.get("/staff/admin/items").text
    assert "导入完成：1 个事项版本有新增或变化" in items and "新版&lt;事项&gt;" in items
    row = f"{item.code}/{newer.version}/publish"
    assert row in items
    published = world.client.post(f"/staff/admin/items/{row}", data={"csrf_token": csrf},
                                  follow_redirects=False)
    assert published.status_code == 303
    with transaction(world.engine) as session:
        stored = session.get(Item, (item.code, newer.version))
        assert stored is not None and stored.status == "published"
    again = world.client.post(f"/staff/admin/items/{row}", data={"csrf_token": csrf})
    assert again.status_code == 409 and "Traceback" not in again.text
    path = tmp_path / "c.xlsx"
    dump_excel(catalogue, path)
    excel = world.client.post("/staff/admin/catalogue/import", data={"csrf_token": csrf},
                              files={"document": ("目录.xlsx", BytesIO(path.read_bytes()),
                                                  "application/octet-stream")},
                              follow_redirects=False)
    assert excel.status_code == 303


def test_a_session_ends_when_idle_too_old_or_revoked() -> None:
    settings = role_settings("core", staff_session_idle_minutes=30, staff_session_max_hours=12)
    account = Account(username="a", display_name="a", password_hash="x", roles=["clerk"],
                      department="d", active=True, token_version=3)
    row = StaffSession(id_hash="h", username="a", token_version=3, csrf_token="t",
                       created_at=NOW, last_seen_at=NOW)
    assert refusal(row, account, NOW + timedelta(minutes=30), settings) is None
    assert refusal(row, account, NOW + timedelta(minutes=31), settings) == "expired"
    row.last_seen_at = NOW + timedelta(hours=12)
    assert refusal(row, account, NOW + timedelta(hours=12, minutes=1), settings) == "expired"
    row.created_at = row.last_seen_at = NOW
    account.token_version = 4  # disabled, enabled, or roles changed since sign-in
    assert refusal(row, account, NOW, settings) == "revoked"
    assert refusal(row, None, NOW, settings) == "revoked"
