"""The site admin's pages (issue 17, point 2): staff accounts (list, add, roles, disable
and enable) and the catalogue (import from the YAML or Excel format, publish, retire).

Every change goes through the functions the JSON API and the command line use
(:mod:`sunlight.runtime.core.accounts`, :mod:`sunlight.runtime.core.catalogue_store`):
the same checks (岗位分离, department scope, certificates, coverage), the same audit
records, the same token revocation (which also ends the account's page sessions).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.catalogue.errors import CatalogueImportError
from sunlight.catalogue.io_excel import load_excel
from sunlight.catalogue.io_yaml import load_yaml
from sunlight.catalogue.model import Catalogue
from sunlight.runtime.core import accounts, catalogue_store
from sunlight.runtime.core.api_admin import MAX_IMPORT_BYTES
from sunlight.runtime.core.auth import SUPERVISOR
from sunlight.runtime.core.models import Account, Department
from sunlight.runtime.core.pages_common import (
    ASSIGNABLE_ROLES,
    ITEM_STATUS_LABELS,
    ROLE_LABELS,
    admin_of,
    admin_pages,
    roles_text,
)
from sunlight.runtime.deps import SessionDep, SettingsDep
from sunlight.runtime.pages.forms import validate
from sunlight.runtime.pages.sessions import PageRefusal
from sunlight.runtime.pages.site import PageContext, PageDep

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
#: An AccountError's leading field (as the command line names it) -> the form's field.
ERROR_FIELDS = {"--role": "roles", "--department": "department", "--certificate": "certificate",
                "--covers": "covers", "username": "username"}
ERROR_LEADS = {"roles": "岗位不符合要求", "department": "所属部门不符合要求",
               "certificate": "执法证号不符合要求", "covers": "监察范围不符合要求",
               "username": "用户名不可用"}


class NewAccount(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=USERNAME)
    display_name: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(min_length=1, max_length=5)
    department: str | None = Field(default=None, max_length=40)
    certificate: str | None = Field(default=None, max_length=40)
    covers: str | None = Field(default=None, max_length=2000)


class RolesChange(BaseModel):
    roles: list[str] = Field(min_length=1, max_length=5)
    covers: str | None = Field(default=None, max_length=2000)


def _covers(text: str | None) -> list[str] | None:
    """Department codes separated by commas, spaces or 、 (``all``: the whole site)."""
    if not text:
        return None
    parts = text.replace("、", ",").replace("，", ",").replace(" ", ",").split(",")
    return [p.strip() for p in parts if p.strip()] or None


def _account_error(exc: accounts.AccountError) -> dict[str, str]:
    text = str(exc)
    lead = text.split(":", 1)[0]
    field = ERROR_FIELDS.get(lead, "roles")
    return {field: f"{ERROR_LEADS[field]}：{text.split(':', 1)[-1].strip()}"}


def _departments(session: Session) -> list[tuple[str, str]]:
    rows = session.scalars(select(Department).order_by(Department.code))
    return [("", "（无，仅系统管理员或全站监察）"),
            *((d.code, f"{d.name}（{d.code}）") for d in rows)]


def _role_options() -> list[tuple[str, str]]:
    return [(r, ROLE_LABELS[r]) for r in ASSIGNABLE_ROLES]


# Accounts.

@admin_pages.get("/accounts")
def account_list(page: PageDep, session: SessionDep) -> Response:
    admin_of(page)
    names = {code: name for code, name in session.execute(
        select(Department.code, Department.name))}
    rows = [{"account": a, "roles": roles_text(a.roles),
             "department": names.get(a.department or "", a.department or "—")}
            for a in session.scalars(select(Account).order_by(Account.username))]
    return page.render("staff/accounts.html", {"rows": rows})


def _new_form(page: PageContext, session: Session, values: dict[str, object],
              errors: dict[str, str], status: int = 200) -> Response:
    return page.render("staff/account_new.html", {
        "values": values, "errors": errors, "departments": _departments(session),
        "role_options": _role_options()}, status=status)


@admin_pages.get("/accounts/new")
def account_new_page(page: PageDep, session: SessionDep) -> Response:
    admin_of(page)
    return _new_form(page, session, {"roles": []}, {})


@admin_pages.post("/accounts/new")
def account_new(page: PageDep, session: SessionDep, settings: SettingsDep,
                username: Annotated[str, Form()] = "",
                display_name: Annotated[str, Form()] = "",
                roles: Annotated[list[str] | None, Form()] = None,
                department: Annotated[str, Form()] = "",
                certificate: Annotated[str, Form()] = "",
                covers: Annotated[str, Form()] = "") -> Response:
    admin = admin_of(page)
    values: dict[str, object] = {
        "username": username, "display_name": display_name, "roles": roles or [],
        "department": department, "certificate": certificate, "covers": covers}
    form, errors = validate(NewAccount, values)
    if form is None:
        return _new_form(page, session, values, errors, 422)
    try:  # every check comes before any write: a refusal leaves nothing behind
        password = accounts.create_account(
            session, settings.site_code, form.username, form.roles, form.department,
            form.display_name, actor=admin.username, certificate=form.certificate,
            covers=_covers(form.covers))
    except accounts.AccountError as exc:
        return _new_form(page, session, values, _account_error(exc), 422)
    return page.render("staff/account_created.html", {
        "username": form.username, "password": password, "roles": roles_text(form.roles)},
        status=201)


def _account(session: Session, username: str) -> Account:
    account = session.get(Account, username) if len(username) <= 64 else None
    if account is None:
        raise PageRefusal(404, "账户不存在", "没有这个用户名的账户。")
    return account


def _account_page(page: PageContext, session: Session, account: Account,
                  values: dict[str, object] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return page.render("staff/account.html", {
        "account": account, "roles": roles_text(account.roles),
        "values": values or {"roles": list(account.roles),
                             "covers": ",".join(account.covers or [])},
        "errors": errors or {}, "role_options": _role_options(),
        "is_self": account.username == admin_of(page).username,
        "supervisor": SUPERVISOR}, status=status)


@admin_pages.get("/accounts/{username}")
def account_page(username: str, page: PageDep, session: SessionDep) -> Response:
    admin_of(page)
    return _account_page(page, session, _account(session, username))


@admin_pages.post("/accounts/{username}/roles")
def account_roles(username: str, page: PageDep, session: SessionDep, settings: SettingsDep,
                  roles: Annotated[list[str] | None, Form()] = None,
                  covers: Annotated[str, Form()] = "") -> Response:
    admin = admin_of(page)
    account = _account(session, username)
    values: dict[str, object] = {"roles": roles or [], "covers": covers}
    form, errors = validate(RolesChange, values)
    if form is None:
        return _account_page(page, session, account, values, errors, 422)
    try:
        accounts.set_roles(session, settings.site_code, username, form.roles,
                           actor=admin.username, covers=_covers(form.covers))
    except accounts.AccountError as exc:
        return _account_page(page, session, account, values, _account_error(exc), 422)
    return page.redirect(f"/staff/admin/accounts/{username}",
                         flash=f"已更新 {username} 的岗位；该账户需重新登录")


@admin_pages.post("/accounts/{username}/active")
def account_active(username: str, page: PageDep, session: SessionDep, settings: SettingsDep,
                   active: Annotated[str, Form()] = "") -> Response:
    admin = admin_of(page)
    _account(session, username)
    if active not in ("0", "1"):
        raise PageRefusal(422, "请求无效", "请使用账户页面上的“停用”或“启用”按钮。")
    if active == "0" and username == admin.username:
        raise PageRefusal(409, "不能停用自己的账户", "请由另一位系统管理员停用此账户。")
    accounts.set_active(session, settings.site_code, username, active == "1",
                        actor=admin.username)
    done = "启用" if active == "1" else "停用"
    return page.redirect(f"/staff/admin/accounts/{username}", flash=f"已{done}账户 {username}")


# The catalogue.

@admin_pages.get("/items")
def item_list(page: PageDep, session: SessionDep) -> Response:
    admin_of(page)
    items = catalogue_store.list_items(session, None)
    return page.render("staff/items.html", {"items": items, "labels": ITEM_STATUS_LABELS})


@admin_pages.post("/items/{code}/{version}/{move}")
def item_move(code: str, version: int, move: str, page: PageDep, session: SessionDep,
              settings: SettingsDep) -> Response:
    admin = admin_of(page)
    status = {"publish": "published", "retire": "retired"}.get(move)
    if status is None or len(code) > 40:
        raise PageRefusal(404, "页面不存在", "没有这个操作。")
    catalogue_store.set_status(session, settings.site_code, code, version, status,
                               admin.username)
    done = "发布" if move == "publish" else "停用"
    return page.redirect("/staff/admin/items", flash=f"已{done}事项 {code} 第 {version} 版")


@admin_pages.get("/catalogue/import")
def import_page(page: PageDep) -> Response:
    admin_of(page)
    return page.render("staff/import.html", {"errors": {}, "limit": MAX_IMPORT_BYTES})


IMPORT_SUFFIXES = (".yaml", ".yml", ".xlsx")


def _read_catalogue(suffix: str, content: bytes) -> Catalogue:
    """A catalogue from an uploaded file: ``.yaml``/``.yml`` or an Excel ``.xlsx``."""
    if suffix in (".yaml", ".yml"):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogueImportError("the YAML file is not UTF-8 text",
                                       source="yaml") from exc
        return load_yaml(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalogue.xlsx"
        path.write_bytes(content)
        return load_excel(path)


@admin_pages.post("/catalogue/import")
def import_catalogue(page: PageDep, session: SessionDep, settings: SettingsDep,
                     document: Annotated[UploadFile | None, File()] = None) -> Response:
    admin = admin_of(page)
    content = document.file.read(MAX_IMPORT_BYTES + 1) if document is not None else b""
    suffix = Path(document.filename or "").suffix.lower() if document is not None else ""
    error = ""
    if not content:
        error = "请选择要导入的目录文件（.yaml 或 .xlsx）"
    elif suffix not in IMPORT_SUFFIXES:
        error = "目录文件须为 .yaml、.yml（YAML 格式）或 .xlsx（Excel 格式）"
    elif len(content) > MAX_IMPORT_BYTES:
        error = f"文件超过 {MAX_IMPORT_BYTES // 2**20} MB 上限"
    else:
        try:
            catalogue = _read_catalogue(suffix, content)
        except CatalogueImportError as exc:
            error = f"目录文件有误：{exc}"
    if error:
        return page.render("staff/import.html", {"errors": {"document": error},
                                                 "limit": MAX_IMPORT_BYTES}, status=422)
    changed = catalogue_store.import_catalogue(session, settings.site_code, catalogue,
                                               admin.username)
    return page.redirect("/staff/admin/items",
                         flash=f"导入完成：{changed} 个事项版本有新增或变化。"
                               "草稿须发布后才对外生效。")
