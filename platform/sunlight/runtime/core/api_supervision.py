"""Staff routes of e-supervision and the cross-tier features: subordinate views, 督办
orders, random inspection (随机督查), baselines.

Every route needs the supervisor (监察室), approver or admin role; what each may do:

- supervisors and admins issue orders (to a department of this site, or to a case at a
  subordinate site — that needs the exchange configured: the keyring says which sites are
  subordinates), accept or return the answers to orders issued here, see every order issued
  here, addressed here or escalated here, and draw and review random inspections — a
  supervisor scoped to departments only those of its departments here (403 naming its
  coverage otherwise, lists filtered), and neither the subordinate sites nor orders to or
  from them;
- approvers answer the orders addressed to their department and see only those;
- admins also run the escalation of overdue orders at once (``POST
  /supervision/orders/escalate``; core's periodic tick runs it too).

Times (issue, answer, review, due dates, escalation) come from core's clock
(:mod:`sunlight.runtime.clock`). Baselines are published and adopted with ``sunlight
exchange baseline``.

Example::

    $ curl -H "Authorization: Bearer $T" $CORE/api/v1/subordinates/320703/cases?receipt=R
    $ curl -H "Authorization: Bearer $T" -d '{"department": "320703-SCJGJ", "text": "..."}' \\
          -H 'Content-Type: application/json' $CORE/api/v1/supervision/orders
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import func, select

from sunlight.runtime.core import supervision
from sunlight.runtime.core.api_inspection import router as inspection_router
from sunlight.runtime.core.auth import AdminDep, Staff, current_staff, require_site_wide
from sunlight.runtime.core.models import (
    BaselineAdoption,
    CatalogueBaseline,
    SubordinateCase,
    SubordinateCaseEvent,
    SubordinateStats,
    SupervisionOrder,
)
from sunlight.runtime.core.supervision_schemas import (
    AcceptIn,
    AdoptionOut,
    AnswerIn,
    BaselineOut,
    EscalationRunOut,
    OrderIn,
    OrderOut,
    OrderStepOut,
    ReturnIn,
    SubordinateCaseOut,
    SubordinateEventOut,
    SubordinateOut,
)
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.runtime.exchange.models import HeldEvent
from sunlight.runtime.exchange.signing import Keyring
from sunlight.supervision.orders import OrderMove, OrderStatus

router = APIRouter(prefix="/api/v1", tags=["supervision"])
ERRORS = responses(401, 403, 404, 409, 422)
SiteCode = Annotated[str, Path(pattern=r"^\d{6}$")]
Receipt = Annotated[str, Path(pattern=r"^\d{6}-\d{8}-\d{6}$")]


def require_supervisor(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not {"supervisor", "approver", "admin"} & set(staff.roles):
        raise ApiError(403, "forbidden", "supervision needs the supervisor, approver or "
                       "admin role")
    return staff


SupervisorDep = Annotated[Staff, Depends(require_supervisor)]


def _subordinates_allowed(staff: Staff) -> None:
    """Subordinate sites' views: not for a supervisor scoped to departments (approvers and
    admins as before)."""
    if staff.is_supervisor:
        require_site_wide(staff, "the subordinate sites' views")


@router.get("/subordinates", response_model=list[SubordinateOut], responses=ERRORS)
def subordinates(staff: SupervisorDep, session: SessionDep) -> list[SubordinateOut]:
    """Each subordinate site seen here: cases, last update, held events, statistics."""
    _subordinates_allowed(staff)
    cases = {s: (n, o, t) for s, n, o, t in session.execute(
        select(SubordinateCase.source, func.count(),
               func.count().filter(SubordinateCase.overdue.is_(True)),
               func.max(SubordinateCase.updated_at)).group_by(SubordinateCase.source))}
    held: dict[str, int] = {source: n for source, n in session.execute(
        select(HeldEvent.source, func.count()).group_by(HeldEvent.source))}
    stats = {s.source: s for s in session.scalars(select(SubordinateStats))}
    return [SubordinateOut(site=site, cases=cases.get(site, (0, 0, None))[0],
                           overdue=cases.get(site, (0, 0, None))[1],
                           last_update=cases.get(site, (0, 0, None))[2],
                           held_events=held.get(site, 0),
                           stats_as_of=stats[site].as_of if site in stats else None,
                           stats=stats[site].snapshot if site in stats else None)
            for site in sorted({*cases, *held, *stats})]


@router.get("/subordinates/{site}/cases", response_model=list[SubordinateCaseOut],
            responses=ERRORS)
def subordinate_cases(site: SiteCode, staff: SupervisorDep, session: SessionDep,
                      receipt: Annotated[str | None, Query(max_length=40)] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      ) -> list[SubordinateCaseOut]:
    """A subordinate's cases as applied here (with their events when ``receipt`` is given)."""
    _subordinates_allowed(staff)
    stmt = select(SubordinateCase).where(SubordinateCase.source == site)
    if receipt:
        stmt = stmt.where(SubordinateCase.receipt == receipt)
    rows = session.scalars(stmt.order_by(SubordinateCase.updated_at.desc()).limit(limit))
    out = []
    for row in rows:
        events = [] if not receipt else [
            SubordinateEventOut(seq=e.seq, event_id=e.event_id, action=e.action,
                                from_status=e.from_status, to_status=e.to_status, at=e.at,
                                applied_at=e.applied_at)
            for e in session.scalars(select(SubordinateCaseEvent).where(
                SubordinateCaseEvent.source == site, SubordinateCaseEvent.receipt == row.receipt)
                .order_by(SubordinateCaseEvent.seq))]
        out.append(SubordinateCaseOut(
            site=row.source, receipt=row.receipt, last_seq=row.last_seq, status=row.status,
            department=row.department, item_code=row.item_code, decision=row.decision,
            due_on=row.due_on, overdue=row.overdue, updated_at=row.updated_at, events=events))
    return out


def _order_out(o: SupervisionOrder, today: date) -> OrderOut:
    return OrderOut(
        id=o.id, issuer=o.issuer, target=o.target, department=o.department, receipt=o.receipt,
        text=o.text, due_on=o.due_on, overdue=supervision.is_overdue(o, today),
        issued_by=o.issued_by, issued_at=o.issued_at, status=o.status,
        status_zh=OrderStatus(o.status).zh, answer=o.answer, answered_by=o.answered_by,
        answered_at=o.answered_at, received_at=o.received_at, rule_id=o.rule_id,
        returns=o.returns or 0, reviewed_by=o.reviewed_by, reviewed_at=o.reviewed_at,
        review_note=o.review_note, escalated_at=o.escalated_at, escalated_to=o.escalated_to,
        escalated_from=o.escalated_from,
        history=[OrderStepOut.model_validate(step) for step in o.history or []])


@router.post("/supervision/orders", response_model=OrderOut, status_code=201,
             responses=ERRORS)
def issue_order(body: OrderIn, staff: SupervisorDep, session: SessionDep,
                settings: SettingsDep, request: Request, clock: ClockDep) -> OrderOut:
    """Issue a supervision order (督办): to a department of this site (``department``, or
    the case ``receipt``), or to a case at a subordinate site (``target`` + ``receipt``).
    Supervisors (监察室) and admins only; due in ``due_days`` working days (default 3)."""
    keyring: Keyring | None = getattr(request.app.state, "keyring", None)
    order = supervision.issue(session, settings.site_code, keyring, staff, target=body.target,
                              receipt=body.receipt, text=body.text, now=clock.now(),
                              department=body.department, due_on=body.due_on,
                              due_days=body.due_days)
    return _order_out(order, clock.today())


@router.get("/supervision/orders", response_model=list[OrderOut], responses=ERRORS)
def list_orders(
    staff: SupervisorDep, session: SessionDep, settings: SettingsDep, clock: ClockDep,
    status: Annotated[str | None, Query(pattern="^(open|answered|accepted)$")] = None,
    escalated: Annotated[bool | None, Query(description="Only escalated (true) or not "
                                                        "escalated (false) orders")] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OrderOut]:
    """Orders you may see here, newest first: supervisors and admins every order issued
    here, addressed here or escalated here from below; approvers those addressed to their
    department."""
    today = clock.today()
    return [_order_out(o, today) for o in supervision.orders(
        session, settings.site_code, staff, status=status, limit=limit, escalated=escalated,
        department=department)]


@router.post("/supervision/orders/escalate", response_model=EscalationRunOut,
             responses=ERRORS)
def escalate_now(admin: AdminDep, session: SessionDep, settings: SettingsDep,
                 clock: ClockDep) -> EscalationRunOut:
    """Run the escalation of overdue orders now (core's periodic tick also runs it): each
    order addressed here and unanswered past its due date goes one tier up. Admin only."""
    count = supervision.escalate_overdue(session, settings.site_code, clock.now())
    return EscalationRunOut(escalated=count)


@router.get("/supervision/orders/{order_id}", response_model=OrderOut, responses=ERRORS)
def order_detail(order_id: uuid.UUID, staff: SupervisorDep, session: SessionDep,
                 settings: SettingsDep, clock: ClockDep) -> OrderOut:
    """One order with its history (issue, answers, returns, acceptance, escalation)."""
    order = supervision.get(session, settings.site_code, staff, order_id)
    return _order_out(order, clock.today())


@router.post("/supervision/orders/{order_id}/answer", response_model=OrderOut,
             responses=ERRORS)
def answer_order(order_id: uuid.UUID, body: AnswerIn, staff: SupervisorDep,
                 session: SessionDep, settings: SettingsDep, clock: ClockDep) -> OrderOut:
    """Answer an order addressed to your department (approver, or admin); an answer to an
    order from above goes back to the issuer."""
    order = supervision.answer(session, settings.site_code, staff, order_id, body.text,
                               clock.now())
    return _order_out(order, clock.today())


@router.post("/supervision/orders/{order_id}/accept", response_model=OrderOut,
             responses=ERRORS)
def accept_answer(order_id: uuid.UUID, body: AcceptIn, staff: SupervisorDep,
                  session: SessionDep, settings: SettingsDep, clock: ClockDep) -> OrderOut:
    """Accept the answer to an order issued here (supervisors, admins): the order is closed;
    across tiers the decision goes down to the addressed site."""
    order = supervision.review(session, settings.site_code, staff, order_id, OrderMove.accept,
                               body.note, clock.now())
    return _order_out(order, clock.today())


@router.post("/supervision/orders/{order_id}/return", response_model=OrderOut,
             responses=ERRORS)
def return_answer(order_id: uuid.UUID, body: ReturnIn, staff: SupervisorDep,
                  session: SessionDep, settings: SettingsDep, clock: ClockDep) -> OrderOut:
    """Return the answer to an order issued here, with the reason (supervisors, admins):
    the order is open again and the department answers again."""
    order = supervision.review(session, settings.site_code, staff, order_id,
                               OrderMove.return_, body.reason, clock.now())
    return _order_out(order, clock.today())


@router.get("/baselines", response_model=list[BaselineOut], responses=ERRORS)
def baselines(staff: SupervisorDep, session: SessionDep) -> list[BaselineOut]:
    """Baselines published or received here, with the adoption decisions known here."""
    adoptions: dict[tuple[str, int], list[AdoptionOut]] = {}
    for a in session.scalars(select(BaselineAdoption).order_by(BaselineAdoption.site)):
        adoptions.setdefault((a.issuer, a.version), []).append(AdoptionOut(
            site=a.site, decision=a.decision, localized=a.localized, note=a.note,
            decided_by=a.decided_by, decided_at=a.decided_at, received_at=a.received_at))
    rows = session.scalars(select(CatalogueBaseline).order_by(
        CatalogueBaseline.issuer, CatalogueBaseline.version.desc()))
    return [BaselineOut(issuer=b.issuer, version=b.version, title=b.title,
                        items=len(b.items), published_at=b.published_at,
                        received_at=b.received_at,
                        adoptions=adoptions.get((b.issuer, b.version), []))
            for b in rows]


# Random inspection's routes are mounted here, so that core's app includes them with ours.
router.include_router(inspection_router)
