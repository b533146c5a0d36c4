"""The citizens' pages (网上办事大厅) on the portal, in Simplified Chinese (docs/pages.md).

Built on the page framework (:mod:`sunlight.runtime.pages`); every rule comes from the
service layer the JSON API uses (:mod:`.service`, :func:`.api.store_material`) and the item's
JSON Schema (:mod:`sunlight.catalogue.form_fields`): the pages only read forms, call those,
and show the result or each error next to its field.

The catalogue by department and category with search (``/``, ``/catalogue``), an item's
guide with its flowchart and blank forms (``/items/{code}``), applying (``/items/{code}/apply``
→ ``/applications/{ref}/materials`` → submit → ``/applications/{receipt}/receipt``), and
tracking with complaint and rating (``/track`` → ``/applications/{receipt}``), and the
decision document once the case is decided (``/applications/{receipt}/decision.pdf``).

Who may see an application: the holder of its secret. The pages keep the secrets of the
visitor's own applications (at most :data:`MAX_CASES`) in one cookie (HttpOnly, Secure,
SameSite=Strict, ``__Host-``, ended with the browser); a visitor on another device opens a
case with its receipt number and secret (``/track``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from math import ceil
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sunlight.catalogue.flowchart import step_caption
from sunlight.catalogue.form_fields import FormField, fields_of, form_errors, read_form
from sunlight.catalogue.model import ENFORCEMENT_CATEGORIES, Category
from sunlight.runtime.db import transaction
from sunlight.runtime.deps import SessionDep
from sunlight.runtime.errors import ApiError
from sunlight.runtime.pages import security
from sunlight.runtime.pages.forms import form_values
from sunlight.runtime.pages.sessions import PageRefusal
from sunlight.runtime.pages.site import NavLink, PageContext, PageDep, PageSite, page_router
from sunlight.runtime.portal import service
from sunlight.runtime.portal.api import document_response, item_guide, store_material
from sunlight.runtime.portal.models import Application, CatalogueEntry
from sunlight.runtime.portal.schemas import ApplicantIn, ApplicationIn
from sunlight.workflow.machine import STATUS_LABELS, CaseStatus

T = TypeVar("T")

router = page_router()
#: The cookie with the secrets of the visitor's own applications (reference → secret).
CASES_COOKIE = "__Host-sunlight_cases"
MAX_CASES = 5
PAGE_SIZE = 20
#: Statuses only the portal knows (before core has the case), as citizens read them.
PORTAL_STATUS = {"draft": "草稿（未提交）", "sent": "已提交，等待受理"}
DECISIONS = {"granted": "准予", "denied": "不予"}
APPLICANT_KINDS = (("person", "个人"), ("enterprise", "企业或其他组织"))
ENFORCEMENT_NOTE = "行政处罚、行政强制等执法事项由执法机关依职权办理。"
ID_INVALID = "证件号码无效：个人请填写 18 位公民身份号码，企业请填写 18 位统一社会信用代码"
#: Why an upload or a submission was refused, for the error code the service gives.
REFUSALS = {
    "too_large": "文件过大：单个文件不能超过 {mb} MB。",
    "unsupported_type": "文件类型不允许：请上传 PDF、JPG、PNG、DOCX 或 XLSX 文件。",
    "too_many_materials": "材料数量已达上限，不能再上传。",
    "materials_too_large": "本次提交的材料总大小已达上限。",
    "not_editable": "申请已提交，当前不能再上传材料。",
    "already_submitted": "申请已提交，请勿重复提交。",
    "not_submitted": "申请尚未提交。",
    "not_finished": "办结后才能评价。",
    "already_rated": "您已评价过本件。",
}


def create_site(site_code: str) -> PageSite:
    """The portal's page site (no sign-in: an application is opened by its secret)."""
    return PageSite(name=f"行政权力网上公开透明运行平台 · 网上办事大厅（{site_code}）",
                    packages=("sunlight.runtime.portal",), home_url="/", nav=_nav,
                    static_packages=("sunlight.runtime.portal",))


def _nav(_page: PageContext) -> list[NavLink]:
    return [NavLink("首页", "/"), NavLink("事项目录", "/catalogue"), NavLink("办件查询", "/track")]


async def _db(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction of the portal database, off the event loop."""
    def run() -> T:
        with transaction(request.app.state.engine) as session:
            return work(session)
    return await run_in_threadpool(run)


# The catalogue ---------------------------------------------------------------------------


def _category_label(value: str) -> str:
    try:
        return Category(value).zh
    except ValueError:
        return value


def _filters() -> dict[str, Any]:
    return {"category_label": _category_label,
            "category_options": [(c.value, c.zh) for c in Category]}


@router.get("/")
def home(page: PageDep, session: SessionDep) -> Response:
    counts = service.categories(session)
    return page.render("portal/home.html", {
        "departments": service.departments(session),
        "categories": [(c.value, c.zh, counts[c.value]) for c in Category if c.value in counts],
        **_filters()})


@router.get("/catalogue")
def catalogue(page: PageDep, session: SessionDep, q: str = "", department: str = "",
              category: str = "", p: int = 1) -> Response:
    q, department, category = (v.replace("\x00", "") for v in (q.strip()[:100],
                                                                department[:40], category[:40]))
    total = service.count_items(session, category or None, department or None, q or None)
    pages = max(1, ceil(total / PAGE_SIZE))
    p = min(max(p, 1), pages)
    items = service.list_items(session, category or None, department or None, q or None,
                               PAGE_SIZE, (p - 1) * PAGE_SIZE)
    query = {k: v for k, v in (("q", q), ("department", department), ("category", category))
             if v}
    return page.render("portal/catalogue.html", {
        "items": items, "total": total, "p": p, "pages": pages,
        "values": {"q": q, "department": department, "category": category},
        "department_options": [("", "全部部门")] + [
            (code, name) for code, name, _n in service.departments(session)],
        "page_url": lambda n: "/catalogue?" + urlencode({**query, "p": n}),
        **_filters()})


@router.get("/items/{code}")
def guide(code: str, page: PageDep, session: SessionDep) -> Response:
    entry = service.get_item(session, code)
    _svg, summary = service.flowchart(entry)
    return page.render("portal/guide.html", {
        "entry": entry, "guide": item_guide(entry), "flow_summary": summary,
        "flow_captions": [step_caption(s) for s in service.flow_of(entry)],
        "can_apply": _can_apply(entry),
        "code_url": quote(entry.code), **_filters()})


def _can_apply(entry: CatalogueEntry) -> bool:
    """Citizens apply for the items they start; enforcement cases are opened by staff."""
    try:
        return Category(entry.category) not in ENFORCEMENT_CATEGORIES
    except ValueError:
        return False


# Applying --------------------------------------------------------------------------------


def _apply_context(entry: CatalogueEntry, values: dict[str, Any],
                   errors: dict[str, str]) -> dict[str, Any]:
    schema = entry.doc.get("form_schema", {})
    assert isinstance(schema, dict)
    fields = fields_of(schema)
    labels = {"applicant_kind": "申请人类型", "applicant_id": "证件号码",
              "applicant_name": "申请人名称", "applicant_phone": "联系电话"}
    for f in fields:
        labels[f.name] = f.label
        for row in range(f.rows):
            for child in f.children:
                labels[f"{f.name}.{row}{child.name}"] = f"{f.label}（第 {row + 1} 行）{child.label}"
    return {"entry": entry, "fields": fields, "values": values, "errors": errors,
            "labels": labels, "ids": {name: _field_id(name) for name in labels},
            "applicant_kinds": APPLICANT_KINDS, "code_url": quote(entry.code),
            "field_id": _field_id, "form_title": str(schema.get("title") or entry.name)}


def _field_id(name: str) -> str:
    """An element id for a web field name (dots are valid in ids but awkward in CSS)."""
    return "f-" + name.replace(".", "-")


@router.get("/items/{code}/apply")
def apply_form(code: str, page: PageDep, session: SessionDep) -> Response:
    entry = service.get_item(session, code)
    if not _can_apply(entry):
        raise PageRefusal(409, "本事项不接受在线申请", ENFORCEMENT_NOTE)
    return page.render("portal/apply.html",
                       _apply_context(entry, {"applicant_kind": "person"}, {}))


@router.post("/items/{code}/apply")
async def apply(code: str, request: Request, page: PageDep) -> Response:
    raw = await request.form()

    def work(session: Session) -> Response:
        entry = service.get_item(session, code)
        if not _can_apply(entry):
            raise PageRefusal(409, "本事项不接受在线申请", ENFORCEMENT_NOTE)
        schema = entry.doc.get("form_schema", {})
        assert isinstance(schema, dict)
        multi = tuple(f.name for f in fields_of(schema) if f.kind == "checkboxes")
        values = form_values(raw, multi=multi)
        form, errors = read_form(schema, values)
        errors = {**form_errors(schema, form), **errors, **_nul_errors(values)}
        applicant = _applicant(values, errors)
        if errors or applicant is None:
            return page.render("portal/apply.html", _apply_context(entry, values, errors),
                               status=422)
        try:
            application, secret = service.create_application(session, ApplicationIn(
                item_code=entry.code, applicant=applicant, form=form))
        except ApiError as exc:
            if exc.code not in ("applicant_id_invalid", "form_invalid"):
                raise
            field = "applicant_id" if exc.code == "applicant_id_invalid" else "f"
            message = (ID_INVALID if field == "applicant_id"
                       else "表单内容无效，请检查后重新提交")
            return page.render("portal/apply.html",
                               _apply_context(entry, values, {field: message}), status=422)
        response = page.redirect(f"/applications/{application.draft_id}/materials",
                                 flash="申请表已保存，请上传申请材料。")
        _remember(request, response, application.draft_id, secret)
        return response

    return await _db(request, work)


def _nul_errors(values: dict[str, Any]) -> dict[str, str]:
    """Fields holding a NUL character, which no database column can keep: refused here
    with a reason rather than by the database."""
    def bad(value: Any) -> bool:
        return "\x00" in value if isinstance(value, str) else (
            isinstance(value, list) and any(bad(v) for v in value))
    return {name: "不能含有控制字符（NUL）" for name, value in values.items() if bad(value)}


def _applicant(values: dict[str, Any], errors: dict[str, str]) -> ApplicantIn | None:
    """The applicant from the form's own fields, each problem named under its field."""
    kind = str(values.get("applicant_kind", ""))
    if kind not in dict(APPLICANT_KINDS):
        errors["applicant_kind"] = "请选择申请人类型"
    for name, longest in (("applicant_id", 32), ("applicant_name", 200)):
        text = str(values.get(name, "")).strip()
        if not text:
            errors[name] = "请填写此项"
        elif len(text) > longest:
            errors[name] = f"最多 {longest} 个字符"
    phone = str(values.get("applicant_phone", "")).strip()
    if len(phone) > 32:
        errors["applicant_phone"] = "最多 32 个字符"
    if any(n in errors for n in ("applicant_kind", "applicant_id", "applicant_name",
                                 "applicant_phone")):
        return None
    return ApplicantIn(kind=kind, id_number=str(values["applicant_id"]).strip(),  # type: ignore[arg-type]
                       name=str(values["applicant_name"]).strip(), phone=phone)


# The visitor's own applications ------------------------------------------------------------


def _cases(request: Request) -> dict[str, str]:
    raw = request.cookies.get(CASES_COOKIE, "")
    try:
        found = json.loads(base64.urlsafe_b64decode(raw.encode())) if raw else {}
    except (ValueError, binascii.Error):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def _remember(request: Request, response: Response, ref: str, secret: str,
              also: str | None = None) -> None:
    cases = _cases(request)
    cases.pop(ref, None)
    cases[ref] = secret
    if also:
        cases[also] = secret
    kept = dict(list(cases.items())[-MAX_CASES:])
    value = base64.urlsafe_b64encode(json.dumps(kept).encode()).decode()
    security.set_cookie(response, CASES_COOKIE, value, samesite="strict")


def _secret(request: Request, ref: str) -> str:
    secret = _cases(request).get(ref)
    if secret is None:
        raise PageRefusal(404, "找不到该办件", "请通过“办件查询”输入受理编号和查询密码后查看。")
    return secret


def _open(session: Session, request: Request, ref: str, *,
          for_update: bool = False) -> Application:
    return service.find_application(session, ref, _secret(request, ref), for_update=for_update)


def _refusal(exc: ApiError, settings: Any) -> str:
    template = REFUSALS.get(exc.code)
    if template is None:
        return exc.detail
    return template.format(mb=settings.material_max_bytes // 2**20)


def _materials_context(session: Session, application: Application,
                       errors: dict[str, str]) -> dict[str, Any]:
    entry = service.get_item(session, application.item_code)
    wanted = entry.doc.get("materials", [])
    assert isinstance(wanted, list)
    current = [m for m in service.materials_of(session, application)
               if m.batch == application.submissions]
    have = {m.name for m in current}
    return {"application": application, "entry": entry, "errors": errors,
            "materials": current, "editable": application.status in service.EDITABLE,
            "ref": application.receipt or application.draft_id,
            "checklist": [(str(m["name"]), bool(m.get("required", True)), m["name"] in have,
                           str(m.get("note", ""))) for m in wanted if isinstance(m, dict)],
            "name_options": [(str(m["name"]), str(m["name"])) for m in wanted
                             if isinstance(m, dict)],
            "values": {}}


@router.get("/applications/{ref}/materials")
def materials_page(ref: str, request: Request, page: PageDep, session: SessionDep) -> Response:
    application = _open(session, request, ref)
    return page.render("portal/materials.html", _materials_context(session, application, {}))


@router.post("/applications/{ref}/materials")
async def upload(ref: str, request: Request, page: PageDep) -> Response:
    """One material (a plain multipart form; ``static/portal/upload.js`` sends the same
    form with a progress bar and gets ``{"next": url}`` back)."""
    form = await request.form()
    name, file = form.get("name"), form.get("file")
    settings = request.app.state.settings
    script = request.headers.get("x-requested-with") == "XMLHttpRequest"
    secret = _secret(request, ref)
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "请选择材料名称"
    elif "\x00" in name:
        errors["name"] = "不能含有控制字符（NUL）"
    if not isinstance(file, UploadFile) or not file.filename:
        errors["file"] = "请选择要上传的文件"
    if not errors:
        assert isinstance(file, UploadFile) and isinstance(name, str)
        try:
            await run_in_threadpool(store_material, request, ref, secret, name.strip()[:200],
                                    file)
        except ApiError as exc:
            if exc.status == 404:
                raise
            errors["file"] = _refusal(exc, settings)
    if errors:
        def again(session: Session) -> Response:
            application = _open(session, request, ref)
            return page.render("portal/materials.html",
                               _materials_context(session, application, errors), status=422)
        return await _db(request, again)
    target = f"/applications/{quote(ref)}/materials"
    page.flash(f"已上传：{name}")
    if script:
        return JSONResponse({"next": target})
    return page.redirect(target)


@router.post("/applications/{ref}/submit")
async def submit(ref: str, request: Request, page: PageDep) -> Response:
    secret = _secret(request, ref)

    def work(session: Session) -> Response:
        application = service.find_application(session, ref, secret, for_update=True)
        try:
            service.submit(session, application, request.app.state.settings.site_code,
                           request.app.state.receipt_max_seq)
        except ApiError as exc:
            if exc.code == service.RECEIPTS_EXHAUSTED:
                request.app.state.receipts_exhausted.inc()
            if exc.code != "materials_missing":
                raise
            missing = exc.detail.partition(": ")[2] or "补正材料"
            context = _materials_context(session, application,
                                         {"submit": f"以下必需材料尚未上传：{missing}"})
            return page.render("portal/materials.html", context, status=422)
        assert application.receipt is not None
        response = page.redirect(f"/applications/{application.receipt}/receipt",
                                 flash="申请已提交。")
        _remember(request, response, application.receipt, secret)
        return response

    return await _db(request, work)


@router.get("/applications/{ref}/receipt")
def receipt(ref: str, request: Request, page: PageDep, session: SessionDep) -> Response:
    application = _open(session, request, ref)
    if application.receipt is None:
        return page.redirect(f"/applications/{quote(ref)}/materials")
    return page.render("portal/receipt.html", {
        "application": application, "secret": _secret(request, ref),
        "item_name": service.item_name(session, application.item_code)})


# Tracking, complaints, ratings ---------------------------------------------------------


@router.get("/track")
def track_form(page: PageDep) -> Response:
    return page.render("portal/track.html", {"values": {}, "errors": {}})


@router.post("/track")
async def track(request: Request, page: PageDep) -> Response:
    values = form_values(await request.form())
    receipt_no = str(values.get("receipt", "")).strip()
    secret = str(values.get("secret", "")).strip()
    errors = {name: "请填写此项" for name, value in (("receipt", receipt_no),
                                                   ("secret", secret)) if not value}
    errors.update(_nul_errors({"receipt": receipt_no, "secret": secret}))
    if not errors:
        def find(session: Session) -> bool:
            try:
                service.find_application(session, receipt_no[:40], secret[:200])
            except ApiError:
                return False
            return True
        if await _db(request, find):
            response = page.redirect(f"/applications/{quote(receipt_no)}")
            _remember(request, response, receipt_no, secret)
            return response
        errors["receipt"] = "受理编号或查询密码不正确"
    return page.render("portal/track.html", {"values": {"receipt": receipt_no},
                                             "errors": errors}, status=422)


def _case_context(session: Session, application: Application,
                  errors: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    try:
        status_label = STATUS_LABELS[CaseStatus(application.status)]
    except ValueError:
        status_label = PORTAL_STATUS.get(application.status, application.status)
    return {"application": application, "status_label": status_label,
            "item_name": service.item_name(session, application.item_code),
            "decision": DECISIONS.get(application.decision or ""),
            "document": service.decision_document(session, application),
            "history": [(e, _status_label(e.status)) for e in service.history(session,
                                                                              application)],
            "materials": service.materials_of(session, application),
            "can_rate": application.status in ("closed", "refused"),
            "can_complain": application.status != "draft",
            "errors": errors, "values": values,
            "score_options": [("", "请选择"), ("5", "5 分：非常满意"), ("4", "4 分：满意"),
                              ("3", "3 分：基本满意"), ("2", "2 分：不满意"),
                              ("1", "1 分：非常不满意")]}


def _status_label(status: str) -> str:
    try:
        return STATUS_LABELS[CaseStatus(status)]
    except ValueError:
        return PORTAL_STATUS.get(status, status)


@router.get("/applications/{ref}")
def case(ref: str, request: Request, page: PageDep, session: SessionDep) -> Response:
    application = _open(session, request, ref)
    if application.receipt is None:
        return page.redirect(f"/applications/{quote(ref)}/materials")
    return page.render("portal/case.html", _case_context(session, application, {}, {}))


@router.get("/applications/{ref}/decision.pdf")
def decision_document(ref: str, request: Request, session: SessionDep) -> Response:
    """The decision document (决定书) as a download, for the visitor who opened the case
    with its secret (the same check as the tracking page)."""
    application = _open(session, request, ref)
    entry = service.decision_document(session, application)
    if entry is None:
        raise PageRefusal(404, "尚无决定书",
                          "本件尚未作出决定，或决定书尚未送达本平台，请稍后再查看。")
    return document_response(entry)


@router.post("/applications/{ref}/complaint")
async def complain(ref: str, request: Request, page: PageDep) -> Response:
    values = form_values(await request.form())
    text = str(values.get("text", "")).strip()

    def work(session: Session) -> Response:
        application = _open(session, request, ref, for_update=True)
        error = ("请填写投诉内容" if not text else "最多 4000 个字符" if len(text) > 4000
                 else _nul_errors({"text": text}).get("text", ""))
        if not error:
            try:
                service.complain(session, application, text)
            except ApiError as exc:
                error = _refusal(exc, request.app.state.settings)
        if error:
            return page.render("portal/case.html", _case_context(
                session, application, {"text": error}, values), status=422)
        return page.redirect(f"/applications/{quote(ref)}",
                             flash="投诉已提交，我们将依法处理并答复。")

    return await _db(request, work)


@router.post("/applications/{ref}/rating")
async def rate(ref: str, request: Request, page: PageDep) -> Response:
    values = form_values(await request.form())
    score, comment = str(values.get("score", "")), str(values.get("comment", "")).strip()

    def work(session: Session) -> Response:
        application = _open(session, request, ref, for_update=True)
        errors: dict[str, str] = {}
        if score not in ("1", "2", "3", "4", "5"):
            errors["score"] = "请选择满意度"
        if len(comment) > 2000:
            errors["comment"] = "最多 2000 个字符"
        errors.update(_nul_errors({"comment": comment}))
        if not errors:
            try:
                service.rate(session, application, int(score), comment)
            except ApiError as exc:
                errors["score"] = _refusal(exc, request.app.state.settings)
        if errors:
            return page.render("portal/case.html", _case_context(
                session, application, errors, values), status=422)
        return page.redirect(f"/applications/{quote(ref)}", flash="感谢您的评价。")

    return await _db(request, work)


__all__ = ["CASES_COOKIE", "FormField", "create_site", "router"]
