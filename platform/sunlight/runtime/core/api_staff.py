"""Staff routes: sign-in, work queue, case detail, transitions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.runtime.clock import Clock
from sunlight.runtime.core import cases
from sunlight.runtime.core.auth import Staff, StaffDep, issue_token, verify_password
from sunlight.runtime.core.models import Account, Case, CaseMaterial
from sunlight.runtime.core.schemas import (
    ActionIn,
    CaseDetail,
    CaseSummary,
    Credentials,
    EventOut,
    MaterialOut,
    Token,
)
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.workflow.deadlines import remaining_working_days
from sunlight.workflow.machine import allowed_actions

router = APIRouter(prefix="/api/v1")
ERRORS = responses(401, 403, 404, 409, 422)


@router.post("/auth/token", tags=["staff"], response_model=Token,
             responses=responses(401, 422))
def sign_in(body: Credentials, session: SessionDep, settings: SettingsDep) -> Token:
    """Exchange a username and password for a signed token."""
    account = session.get(Account, body.username)
    if account is None or not account.active or not verify_password(account.password_hash,
                                                                     body.password):
        raise ApiError(401, "bad_credentials", "unknown user or wrong password")
    staff = Staff(account.username, tuple(account.roles), account.department)
    return Token(access_token=issue_token(settings, staff), expires_in=settings.token_ttl_s)


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
