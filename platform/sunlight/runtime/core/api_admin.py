"""Catalogue administration, staff accounts and audit verification (admin role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from sunlight.catalogue.errors import CatalogueImportError
from sunlight.catalogue.io_yaml import load_yaml
from sunlight.runtime.core import catalogue_store
from sunlight.runtime.core.accounts import (
    AccountError,
    create_account,
    set_active,
    set_covers,
    set_roles,
)
from sunlight.runtime.core.audit_store import verify
from sunlight.runtime.core.auth import AdminDep
from sunlight.runtime.core.lights_schemas import AccountIn, AccountOut
from sunlight.runtime.core.models import Account
from sunlight.runtime.core.schemas import ChainOut, ImportResult, ItemOut
from sunlight.runtime.deps import SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
ERRORS = responses(401, 403, 404, 409, 422)
MAX_IMPORT_BYTES = 5 * 2**20
Code = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9-]+$")]
Version = Annotated[int, Path(ge=1, le=100_000)]
Username = Annotated[str, Path(min_length=1, max_length=64,
                               pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class AccountChange(BaseModel):
    """Disable or enable an account, replace its roles or a supervisor's coverage; each
    revokes its tokens."""

    model_config = ConfigDict(extra="forbid")
    active: bool | None = None
    roles: list[str] | None = Field(default=None, min_length=1, max_length=5)
    covers: list[str] | None = Field(default=None, min_length=1, max_length=100,
                                     description="a supervisor's departments, or [\"all\"]")


class AccountInfo(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    department: str | None
    certificate: str | None
    covers: list[str] | None = Field(description="a supervisor's departments, or [\"all\"]")
    active: bool
    totp: bool = Field(description="enrolled in the second factor (TOTP)")


def _info(account: Account) -> AccountInfo:
    return AccountInfo(username=account.username, display_name=account.display_name,
                       roles=account.roles, department=account.department,
                       certificate=account.certificate, covers=account.covers,
                       active=account.active,
                       totp=account.totp_secret is not None)


@router.get("/items", response_model=list[ItemOut], responses=ERRORS)
def items(admin: AdminDep, session: SessionDep,
          status: Annotated[str | None, Query(pattern="^(draft|published|retired)$")] = None,
          ) -> list[ItemOut]:
    """Every stored item version, optionally by status."""
    return [ItemOut(code=i.code, version=i.version, status=i.status, name=i.name,
                    category=i.category, department=i.department)
            for i in catalogue_store.list_items(session, status)]


@router.post("/catalogue", response_model=ImportResult, responses=ERRORS)
def import_catalogue(admin: AdminDep, session: SessionDep, settings: SettingsDep,
                     document: Annotated[str, Body(media_type="application/yaml",
                                                   max_length=MAX_IMPORT_BYTES)]) -> ImportResult:
    """Import a catalogue in YAML; errors name the path of the bad value."""
    try:
        catalogue = load_yaml(document)
    except CatalogueImportError as exc:
        raise ApiError(422, "catalogue_invalid", str(exc)) from exc
    changed = catalogue_store.import_catalogue(session, settings.site_code, catalogue,
                                               admin.username)
    return ImportResult(changed=changed)


@router.post("/items/{code}/{version}/publish", response_model=ItemOut, responses=ERRORS)
def publish(code: Code, version: Version, admin: AdminDep, session: SessionDep,
            settings: SettingsDep) -> ItemOut:
    """Publish a draft version; the previously published version is retired."""
    row = catalogue_store.set_status(session, settings.site_code, code, version, "published",
                                     admin.username)
    return ItemOut(code=row.code, version=row.version, status=row.status, name=row.name,
                   category=row.category, department=row.department)


@router.post("/items/{code}/{version}/retire", response_model=ItemOut, responses=ERRORS)
def retire(code: Code, version: Version, admin: AdminDep, session: SessionDep,
           settings: SettingsDep) -> ItemOut:
    """Retire a published version."""
    row = catalogue_store.set_status(session, settings.site_code, code, version, "retired",
                                     admin.username)
    return ItemOut(code=row.code, version=row.version, status=row.status, name=row.name,
                   category=row.category, department=row.department)


@router.post("/accounts", response_model=AccountOut, status_code=201, responses=ERRORS)
def add_account(body: AccountIn, admin: AdminDep, session: SessionDep,
                settings: SettingsDep) -> AccountOut:
    """Create a staff account with a generated password (shown once). Roles: clerk,
    reviewer, approver, officer, legal_reviewer (scoped to a department), admin, supervisor
    (监察室, never with a handling role: 岗位分离; it covers ``covers`` — departments, or
    ``["all"]`` — by default its own department). An officer account carries its own
    certificate number (执法证号), the only one it may act under."""
    try:
        password = create_account(session, settings.site_code, body.username, body.roles,
                                  body.department, body.display_name or body.username,
                                  actor=admin.username, certificate=body.certificate,
                                  covers=body.covers)
    except AccountError as exc:
        field = str(exc).split(":", 1)[0].lstrip("-").replace("role", "roles")
        raise ApiError(422, "account_invalid", str(exc), field=field) from exc
    account = session.get(Account, body.username)
    assert account is not None
    return AccountOut(username=body.username, roles=body.roles, department=body.department,
                      certificate=account.certificate, covers=account.covers,
                      password=password)


@router.get("/accounts", response_model=list[AccountInfo], responses=ERRORS)
def list_accounts(admin: AdminDep, session: SessionDep) -> list[AccountInfo]:
    """Every staff account of the site (no password hashes, no TOTP secrets)."""
    return [_info(a) for a in session.scalars(select(Account).order_by(Account.username))]


@router.patch("/accounts/{username}", response_model=AccountInfo, responses=ERRORS)
def change_account(username: Username, body: AccountChange, admin: AdminDep,
                   session: SessionDep, settings: SettingsDep) -> AccountInfo:
    """Disable (``active: false``) or enable an account, replace its roles (checked as at
    creation: 岗位分离, department scope) or a supervisor's coverage (``covers``). Every
    token the account holds is refused from now on: its holder signs in again, with the
    roles and coverage it has now."""
    if body.active is None and body.roles is None and body.covers is None:
        raise ApiError(422, "account_invalid", "send active, roles, covers or several",
                       field="body")
    try:
        if body.roles is not None:
            set_roles(session, settings.site_code, username, body.roles, actor=admin.username,
                      covers=body.covers)
        elif body.covers is not None:
            set_covers(session, settings.site_code, username, body.covers,
                       actor=admin.username)
        if body.active is not None:
            set_active(session, settings.site_code, username, body.active,
                       actor=admin.username)
    except AccountError as exc:
        if str(exc).startswith("username: no account"):
            raise ApiError(404, "not_found", str(exc)) from exc
        field = "covers" if str(exc).startswith("--covers") else "roles"
        raise ApiError(422, "account_invalid", str(exc), field=field) from exc
    account = session.get(Account, username)
    assert account is not None
    return _info(account)


@router.get("/audit/verify", response_model=ChainOut, responses=ERRORS)
def audit_verify(admin: AdminDep, request: Request, settings: SettingsDep) -> ChainOut:
    """Walk the audit chain; name the first broken record if any."""
    verdict = verify(request.app.state.engine, settings.site_code)
    return ChainOut(ok=verdict.ok, checked=verdict.checked,
                    first_broken_seq=verdict.first_broken_seq, reason=verdict.reason)
