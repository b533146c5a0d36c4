"""Catalogue administration, staff accounts and audit verification (admin role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request

from sunlight.catalogue.errors import CatalogueImportError
from sunlight.catalogue.io_yaml import load_yaml
from sunlight.runtime.core import catalogue_store
from sunlight.runtime.core.accounts import AccountError, create_account
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
    (监察室, never with a handling role: 岗位分离). An officer account carries its own
    certificate number (执法证号), the only one it may act under."""
    try:
        password = create_account(session, settings.site_code, body.username, body.roles,
                                  body.department, body.display_name or body.username,
                                  actor=admin.username, certificate=body.certificate)
    except AccountError as exc:
        field = str(exc).split(":", 1)[0].lstrip("-").replace("role", "roles")
        raise ApiError(422, "account_invalid", str(exc), field=field) from exc
    account = session.get(Account, body.username)
    assert account is not None
    return AccountOut(username=body.username, roles=body.roles, department=body.department,
                      certificate=account.certificate, password=password)


@router.get("/audit/verify", response_model=ChainOut, responses=ERRORS)
def audit_verify(admin: AdminDep, request: Request, settings: SettingsDep) -> ChainOut:
    """Walk the audit chain; name the first broken record if any."""
    verdict = verify(request.app.state.engine, settings.site_code)
    return ChainOut(ok=verdict.ok, checked=verdict.checked,
                    first_broken_seq=verdict.first_broken_seq, reason=verdict.reason)
