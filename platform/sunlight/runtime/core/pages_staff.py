"""The staff work desk (issue 17, point 2): sign in and out, the work queue by role, a
case with its applicant data, materials (download, preview), history, due date and the
working days left, and the actions the workflow allows now — each as a form, or with the
reason it is not available to this person.

Every rule is the service's own: the queue is :func:`sunlight.runtime.core.cases.queue`,
an action goes through :func:`sunlight.runtime.core.cases.act`, what is possible and who
may take it comes from :func:`sunlight.workflow.machine.allowed_actions` and
:func:`~sunlight.workflow.machine.transition` (tried, not taken, to learn whether an action
needs a comment), and separation of duties from the check ``cases.act`` makes. Sign-in is
:func:`sunlight.runtime.core.accounts.sign_in` (throttled, audited).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.runtime.core import accounts, cases, staff_sessions
from sunlight.runtime.core.auth import Staff, client_address
from sunlight.runtime.core.models import Case, CaseMaterial, Department, Item
from sunlight.runtime.core.pages_common import (
    APPLICANT_KINDS,
    action_label,
    content_disposition,
    role_label,
    roles_text,
    signed_in,
    staff_pages,
    status_label,
)
from sunlight.runtime.db import transaction, utcnow
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError
from sunlight.runtime.pages.forms import validate
from sunlight.runtime.pages.security import FILE_HEADERS, add_headers
from sunlight.runtime.pages.sessions import PageRefusal
from sunlight.runtime.pages.site import PageContext, PageDep, safe_next
from sunlight.workflow.deadlines import remaining_working_days
from sunlight.workflow.machine import (
    APPLICANT_ROLE,
    Action,
    CommentRequired,
    IllegalTransition,
    allowed_actions,
    transition,
)

#: Files a browser shows itself: previewed inline; anything else is only downloaded.
PREVIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})
QUEUE_LIMIT = 200
SIGN_IN_REFUSALS = {  # accounts.sign_in's reason -> (status, field, message)
    "unknown_user": (401, "password", "用户名或密码不正确"),
    "disabled": (401, "password", "用户名或密码不正确"),
    "wrong_password": (401, "password", "用户名或密码不正确"),
    "totp_required": (401, "totp", "此账户需要动态验证码：请输入验证器上当前的 6 位数字"),
    "wrong_totp": (401, "totp", "动态验证码不正确，请输入验证器上当前的 6 位数字"),
    "roles_conflict": (403, "username", "此账户的岗位相互冲突（岗位分离），请联系系统管理员更正"),
}


class SignInForm(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    totp: str = Field(default="", max_length=12)


class ActionForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=4000)
    applicant_note: str = Field(default="", max_length=4000)


# Sign in and out.

@staff_pages.get("/sign-in")
def sign_in_page(page: PageDep, next: str = "") -> Response:
    if page.session is not None:
        return page.redirect(safe_next(next, "/staff/"))
    return page.render("staff/sign_in.html", {"values": {"next": next}, "errors": {}})


@staff_pages.post("/sign-in")
def sign_in(request: Request, page: PageDep, session: SessionDep, settings: SettingsDep,
            clock: ClockDep, username: Annotated[str, Form()] = "",
            password: Annotated[str, Form()] = "", totp: Annotated[str, Form()] = "",
            next: Annotated[str, Form()] = "") -> Response:
    values = {"username": username, "totp": totp, "next": next}
    form, errors = validate(SignInForm, {"username": username, "password": password,
                                         "totp": totp})
    if form is None:
        return page.render("staff/sign_in.html", {"values": values, "errors": errors},
                           status=422)
    client = client_address(request.client.host if request.client else None,
                            request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    result = accounts.sign_in(session, settings.site_code, settings, form.username,
                              form.password, client, utcnow(), form.totp.strip() or None)
    # A refusal is rendered, not raised: the failure count and the audit record commit.
    if result.reason == "locked":
        wait = max(1, math.ceil(result.retry_after))
        return page.render("staff/sign_in.html", {"values": values, "errors": {
            "username": f"登录失败次数过多，已暂时锁定。请 {wait} 秒后再试"}}, status=429)
    if not result.ok:
        status, field, message = SIGN_IN_REFUSALS[result.reason]
        return page.render("staff/sign_in.html", {"values": values,
                                                  "errors": {field: message}}, status=status)
    assert result.account is not None
    page.begin(staff_sessions.start(session, result.account, clock.now(), settings))
    return page.redirect(safe_next(next, "/staff/"))


@staff_pages.post("/sign-out")
def sign_out(page: PageDep, session: SessionDep) -> Response:
    if page.session is not None:
        staff_sessions.end(session, page.session.sid)
    page.finish_session()
    return page.redirect("/staff/sign-in", flash="您已安全退出登录。", level="info")


# The work queue.

def _item_names(session: Session, keys: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    for code, version in keys:
        item = session.get(Item, (code, version))
        names[(code, version)] = item.name if item else code
    return names


@staff_pages.get("/")
def work_queue(page: PageDep, session: SessionDep, clock: ClockDep) -> Response:
    user = signed_in(page)
    staff = user.staff
    found = cases.queue(session, staff, QUEUE_LIMIT) if not staff.is_supervisor else []
    names = _item_names(session, {(c.item_code, c.item_version) for c, _ in found})
    today = clock.today()
    rows = [{"case": c, "item": names[(c.item_code, c.item_version)],
             "status": status_label(c.status),
             "remaining": remaining_working_days(c.due_on, today),
             "actions": "、".join(action_label(a) for a in actions)} for c, actions in found]
    return page.render("staff/queue.html", {
        "rows": rows, "limit": QUEUE_LIMIT, "roles": roles_text(staff.roles),
        "supervisor": staff.is_supervisor})


@staff_pages.get("/cases/find")
def find_case(page: PageDep, session: SessionDep, receipt: str = "") -> Response:
    staff = signed_in(page).staff
    receipt = receipt.strip()
    if not receipt or len(receipt) > 40:
        raise PageRefusal(404, "未找到案件", "请输入完整的受理编号（如 320703-20261201-000001）。")
    try:
        case = cases.by_receipt(session, staff, receipt)
    except ApiError as exc:
        if exc.status != 404:
            raise
        raise PageRefusal(404, "未找到案件", "没有这个受理编号的案件，或案件不属于您的部门。"
                          ) from exc
    return page.redirect(f"/staff/cases/{case.id}")


# A case.

@dataclass(frozen=True)
class ActionOption:
    """One action the workflow allows on the case now, for this staff member: ``reason``
    is why it is not available to them (empty when it is)."""

    action: str
    label: str
    role: str
    needs_comment: bool
    reason: str = ""

    @property
    def available(self) -> bool:
        return not self.reason


def _needs_comment(case: Case, flow: Any, action: Action, role: str) -> bool:
    """The workflow's own rule: does ``action`` need a comment saying why?"""
    try:
        transition(cases.state_of(case), action, role, flow, "")
    except CommentRequired:
        return True
    except IllegalTransition:
        return False
    return False


def _separation_reason(session: Session, site: str, staff: Staff, case: Case,
                       action: Action) -> str:
    """The separation-of-duties refusal ``cases.act`` would give for a decision, or ''."""
    if action not in (Action.grant, Action.deny, Action.refuse):
        return ""
    try:
        cases._check_separation(session, site, staff, case, action)
    except ApiError as exc:
        return exc.detail.split(" Separation of duties")[0]
    return ""


def action_options(session: Session, site: str, staff: Staff, case: Case) -> list[ActionOption]:
    """What the workflow allows now (the applicant's resubmission left out), each with
    the reason this staff member may not take it, if any."""
    flow = cases.flow_of(session, case)
    options = []
    for action, role in allowed_actions(cases.state_of(case), flow):
        if role == APPLICANT_ROLE:
            continue
        if staff.is_supervisor:
            reason = "监察室人员只监督案件，不能办理（岗位分离）"
        elif role not in staff.roles:
            reason = f"需要「{role_label(role)}」岗位，您的岗位是{roles_text(staff.roles)}"
        else:
            reason = _separation_reason(session, site, staff, case, action)
        options.append(ActionOption(action.value, action_label(action), role,
                                    _needs_comment(case, flow, action, role), reason))
    return options


def _form_fields(item: Item | None, form: dict[str, object]) -> list[tuple[str, str]]:
    """The applicant's form as (label, value) pairs; labels from the item's form schema."""
    schema = (item.doc.get("form_schema") if item else None) or {}
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    shown = []
    for key, value in form.items():
        spec = props.get(key) if isinstance(props, dict) else None
        label = spec.get("title", key) if isinstance(spec, dict) else key
        text = "、".join(map(str, value)) if isinstance(value, list) else (
            ("是" if value else "否") if isinstance(value, bool) else str(value))
        shown.append((str(label), text))
    return shown


def render_case(page: PageContext, session: Session, site: str, staff: Staff, case: Case,
                today: Any, *, errors: dict[str, dict[str, str]] | None = None,
                values: dict[str, dict[str, str]] | None = None, refused: str = "",
                status: int = 200) -> Response:
    item = session.get(Item, (case.item_code, case.item_version))
    department = session.get(Department, case.department)
    materials = list(session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id)
                                     .order_by(CaseMaterial.batch, CaseMaterial.name)))
    history = [{"event": e, "action": action_label(e.action), "role": role_label(e.role),
                "from": status_label(e.from_status), "to": status_label(e.to_status)}
               for e in cases.history(session, case)]
    return page.render("staff/case.html", {
        "case": case, "item_name": item.name if item else case.item_code,
        "department": department.name if department else case.department,
        "status": status_label(case.status),
        "applicant_kind": APPLICANT_KINDS.get(case.applicant_kind, case.applicant_kind),
        "fields": _form_fields(item, case.form), "materials": materials,
        "previewable": PREVIEWABLE, "history": history,
        "remaining": remaining_working_days(case.due_on, today),
        "options": action_options(session, site, staff, case),
        "errors": errors or {}, "values": values or {}, "refused": refused}, status=status)


@staff_pages.get("/cases/{case_id}")
def case_page(case_id: uuid.UUID, page: PageDep, session: SessionDep, settings: SettingsDep,
              clock: ClockDep) -> Response:
    staff = signed_in(page).staff
    case = cases.get(session, staff, case_id)
    return render_case(page, session, settings.site_code, staff, case, clock.today())


@staff_pages.post("/cases/{case_id}/actions/{action}")
def take_action(case_id: uuid.UUID, action: Action, page: PageDep, settings: SettingsDep,
                clock: ClockDep, request: Request, comment: Annotated[str, Form()] = "",
                applicant_note: Annotated[str, Form()] = "") -> Response:
    """Re-validated here (lengths, the comment the workflow needs), then taken by
    ``cases.act`` in its own transaction: refused, nothing of it stays, and the case page
    comes back with the reason next to the form."""
    staff = signed_in(page).staff
    engine = request.app.state.engine
    values = {"comment": comment, "applicant_note": applicant_note}
    form, errors = validate(ActionForm, values)
    if form is not None and not form.comment.strip():
        with transaction(engine) as session:
            errors = _comment_missing(session, staff, case_id, action)
    refused, status = "", 422
    if form is not None and not errors:
        try:
            with transaction(engine) as session:
                receipt = cases.act(session, settings.site_code, staff, case_id, action,
                                    form.comment, clock.now(),
                                    applicant_note=form.applicant_note).receipt
            return page.redirect(f"/staff/cases/{case_id}",
                                 flash=f"已{action_label(action)}：案件 {receipt}")
        except ApiError as exc:  # its transaction rolled back: nothing of it stays
            if exc.status == 404:
                raise
            refused, status = f"未能{action_label(action)}：{_refusal_text(exc)}", exc.status
    with transaction(engine) as session:
        case = cases.get(session, staff, case_id)
        return render_case(page, session, settings.site_code, staff, case, clock.today(),
                           errors={action.value: errors}, values={action.value: values},
                           refused=refused, status=status)


def _comment_missing(session: Session, staff: Staff, case_id: uuid.UUID,
                     action: Action) -> dict[str, str]:
    """The comment field's error when the workflow needs one for ``action`` now."""
    case = cases.get(session, staff, case_id)
    flow = cases.flow_of(session, case)
    role = next((r for a, r in allowed_actions(cases.state_of(case), flow) if a is action),
                None)
    if role is not None and _needs_comment(case, flow, action, role):
        return {"comment": f"「{action_label(action)}」必须填写意见，说明理由"}
    return {}


def _refusal_text(exc: ApiError) -> str:
    """The service's refusal for a person: its Chinese part when it has one."""
    detail = exc.detail.split(" Separation of duties")[0].split("Supervisors (监察室)")[0]
    if exc.code == "illegal_transition":
        return "案件状态已经改变，此操作现在不能进行（可能已由其他人员办理）。请查看最新状态。"
    if exc.code == "wrong_role":
        return "您的岗位不能进行此操作。"
    return detail.strip()


# Materials.

def _material(session: Session, staff: Staff, case_id: uuid.UUID,
              material_id: uuid.UUID) -> CaseMaterial:
    case = cases.get(session, staff, case_id)
    material = session.get(CaseMaterial, material_id)
    if material is None or material.case_id != case.id:
        raise PageRefusal(404, "材料不存在", "这份材料不存在或不属于该案件。")
    return material


@staff_pages.get("/cases/{case_id}/materials/{material_id}")
def download_material(case_id: uuid.UUID, material_id: uuid.UUID, page: PageDep,
                      session: SessionDep) -> Response:
    material = _material(session, signed_in(page).staff, case_id, material_id)
    return add_headers(Response(material.content, media_type=material.content_type, headers={
        "Content-Disposition": content_disposition("attachment", material.filename)}),
        FILE_HEADERS)


@staff_pages.get("/cases/{case_id}/materials/{material_id}/preview")
def preview_material(case_id: uuid.UUID, material_id: uuid.UUID, page: PageDep,
                     session: SessionDep) -> Response:
    material = _material(session, signed_in(page).staff, case_id, material_id)
    if material.content_type not in PREVIEWABLE:
        raise PageRefusal(415, "此类文件不能预览",
                          "只有 PDF 和图片可以在浏览器中预览，请下载后查看。")
    return add_headers(Response(material.content, media_type=material.content_type, headers={
        "Content-Disposition": content_disposition("inline", material.filename)}),
        FILE_HEADERS)
