"""Staff routes: sign-in, work queue, case detail, transitions."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.runtime.clock import Clock
from sunlight.runtime.core import accounts, cases
from sunlight.runtime.core.auth import Staff, StaffDep, client_address, issue_token, staff_of
from sunlight.runtime.core.models import Case, CaseMaterial
from sunlight.runtime.core.schemas import (
    ActionIn,
    CaseDetail,
    CaseSummary,
    Credentials,
    EventOut,
    MaterialOut,
    Token,
)
from sunlight.runtime.db import utcnow
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, ErrorBody, responses
from sunlight.workflow.deadlines import remaining_working_days
from sunlight.workflow.machine import allowed_actions

router = APIRouter(prefix="/api/v1")
ERRORS = responses(401, 403, 404, 409, 422)


SIGN_IN_ERRORS: dict[int | str, dict[str, Any]] = {
    **responses(401, 403, 422),
    429: {"description": "too many failed sign-ins: locked, see Retry-After",
          "model": ErrorBody}}
_REFUSALS = {  # reason -> (status, code, detail)
    "unknown_user": (401, "bad_credentials", "unknown user or wrong password"),
    "disabled": (401, "bad_credentials", "unknown user or wrong password"),
    "wrong_password": (401, "bad_credentials", "unknown user or wrong password"),
    "totp_required": (401, "totp_required", "this account needs its second factor: send "
                      "totp, the current 6-digit code of its authenticator"),
    "wrong_totp": (401, "bad_credentials", "wrong second-factor code (totp)"),
    "roles_conflict": (403, "forbidden", "the account's roles conflict (岗位分离); an admin "
                       "must correct them"),
}


@router.post("/auth/token", tags=["staff"], response_model=Token, responses=SIGN_IN_ERRORS)
def sign_in(body: Credentials, request: Request, session: SessionDep,
            settings: SettingsDep) -> Token | JSONResponse:
    """Exchange a username and password (and, for an admin enrolled in TOTP, the current
    code) for a signed token. After repeated failures for an account or from a client
    address, sign-in is locked for a time that doubles with each further failure: 429 with
    Retry-After. Every attempt is recorded in the audit chain."""
    client = client_address(request.client.host if request.client else None,
                            request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    result = accounts.sign_in(session, settings.site_code, settings, body.username,
                              body.password, client, utcnow(), body.totp)
    # Refusals are answered, not raised: the transaction must commit the failure count and
    # the audit record.
    if result.reason == "locked":
        wait = max(1, math.ceil(result.retry_after))
        error = ApiError(429, "signin_locked", f"too many failed sign-ins for this account or "
                         f"from this address; try again in {wait} s")
        return JSONResponse(error.body(), status_code=429, headers={"Retry-After": str(wait)})
    if not result.ok:
        status, code, detail = _REFUSALS[result.reason]
        return JSONResponse(ApiError(status, code, detail).body(), status_code=status)
    account = result.account
    assert account is not None
    return Token(access_token=issue_token(settings, staff_of(account), account.token_version),
                 expires_in=settings.token_ttl_s)


def _summary(session: Session, case: Case, actions: list[str], clock: Clock) -> CaseSummary:
    return CaseSummary(
        id=case.id, receipt=case.receipt, item_code=case.item_code, department=case.department,
        applicant_name=case.applicant_name, status=case.status, due_on=case.due_on,
        remaining_working_days=remaining_working_days(case.due_on, clock.today()),
        overdue=case.overdue, actions=actions)


def _detail(session: Session, staff: Staff, case: Case, clock: Clock) -> CaseDetail:
    flow = cases.flow_of(session, case)
    mine = [a.value for a, role in allowed_actions(cases.state_of(case), flow)
            if role in staff.roles]
    materials = session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id)
                                .order_by(CaseMaterial.batch, CaseMaterial.name))
    return CaseDetail(
        **_summary(session, case, mine, clock).model_dump(), item_version=case.item_version,
        applicant_kind=case.applicant_kind, applicant_id=case.applicant_id, form=case.form,
        step_index=case.step_index, decision=case.decision, submitted_on=case.submitted_on,
        limit_days=case.limit_days, paused=case.paused,
        materials=[MaterialOut(id=m.id, batch=m.batch, name=m.name, filename=m.filename,
                               content_type=m.content_type, size=m.size, sha256=m.sha256)
                   for m in materials],
        history=[EventOut(at=e.at, actor=e.actor, role=e.role, action=e.action,
                          from_status=e.from_status, to_status=e.to_status, comment=e.comment)
                 for e in cases.history(session, case)],
    )


@router.get("/queue", tags=["staff"], response_model=list[CaseSummary], responses=ERRORS)
def work_queue(staff: StaffDep, session: SessionDep, clock: ClockDep,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CaseSummary]:
    """Open cases of your department waiting for one of your roles, soonest due first."""
    return [_summary(session, case, actions, clock)
            for case, actions in cases.queue(session, staff, limit)]


@router.get("/cases", tags=["staff"], response_model=CaseDetail, responses=ERRORS)
def case_by_receipt(staff: StaffDep, session: SessionDep, clock: ClockDep,
                    receipt: Annotated[str, Query(min_length=1, max_length=40)]) -> CaseDetail:
    """Find a case by its receipt number."""
    return _detail(session, staff, cases.by_receipt(session, staff, receipt), clock)


@router.get("/cases/{case_id}", tags=["staff"], response_model=CaseDetail, responses=ERRORS)
def case_detail(case_id: uuid.UUID, staff: StaffDep, session: SessionDep,
                clock: ClockDep) -> CaseDetail:
    """A case with its due date, time remaining, materials and full history."""
    return _detail(session, staff, cases.get(session, staff, case_id), clock)


@router.post("/cases/{case_id}/actions", tags=["staff"], response_model=CaseDetail,
             responses=ERRORS)
def take_action(case_id: uuid.UUID, body: ActionIn, staff: StaffDep, session: SessionDep,
                settings: SettingsDep, clock: ClockDep) -> CaseDetail:
    """Accept, refuse, request correction, approve a review step, grant, deny, close,
    suspend or resume — as the flow allows. Refused with 409 when separation of duties
    (岗位分离) forbids you to decide a case you accepted, 403 for a supervisor (监察室).
    ``comment`` stays internal; only ``applicant_note`` is shown to the applicant."""
    case = cases.act(session, settings.site_code, staff, case_id, body.action, body.comment,
                     clock.now(), applicant_note=body.applicant_note)
    return _detail(session, staff, case, clock)
