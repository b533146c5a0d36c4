"""Staff routes of the cross-tier features: subordinate views, supervision orders, baselines.

Supervision is a senior function: every route needs the approver or admin role. Issuing
needs the exchange configured (the keyring says which sites are subordinates); answering
is for the approver of the case's department (or an admin) at the addressed site.
Baselines are published and adopted with ``sunlight exchange baseline``.

Example::

    $ curl -H "Authorization: Bearer $T" $CORE/api/v1/subordinates/320703/cases?receipt=R
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import func, select

from sunlight.runtime.core import supervision
from sunlight.runtime.core.auth import Staff, current_staff
from sunlight.runtime.core.models import (
    BaselineAdoption,
    CatalogueBaseline,
    SubordinateCase,
    SubordinateCaseEvent,
    SubordinateStats,
    SupervisionOrder,
)
from sunlight.runtime.core.supervision_schemas import (
    AdoptionOut,
    AnswerIn,
    BaselineOut,
    OrderIn,
    OrderOut,
    SubordinateCaseOut,
    SubordinateEventOut,
    SubordinateOut,
)
from sunlight.runtime.deps import SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.runtime.exchange.models import HeldEvent
from sunlight.runtime.exchange.signing import Keyring

router = APIRouter(prefix="/api/v1", tags=["supervision"])
ERRORS = responses(401, 403, 404, 409, 422)
SiteCode = Annotated[str, Path(pattern=r"^\d{6}$")]


def require_supervisor(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not {"approver", "admin"} & set(staff.roles):
        raise ApiError(403, "forbidden", "supervision needs the approver or admin role")
    return staff


SupervisorDep = Annotated[Staff, Depends(require_supervisor)]


@router.get("/subordinates", response_model=list[SubordinateOut], responses=ERRORS)
def subordinates(staff: SupervisorDep, session: SessionDep) -> list[SubordinateOut]:
    """Each subordinate site seen here: cases, last update, held events, statistics."""
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


def _order_out(o: SupervisionOrder) -> OrderOut:
    return OrderOut(id=o.id, issuer=o.issuer, target=o.target, receipt=o.receipt, text=o.text,
                    due_on=o.due_on, issued_by=o.issued_by, issued_at=o.issued_at,
                    status=o.status, answer=o.answer, answered_by=o.answered_by,
                    answered_at=o.answered_at, received_at=o.received_at)


@router.post("/supervision/orders", response_model=OrderOut, status_code=201,
             responses=ERRORS)
def issue_order(body: OrderIn, staff: SupervisorDep, session: SessionDep,
                settings: SettingsDep, request: Request) -> OrderOut:
    """Issue a supervision order (督办) to a case at a subordinate site."""
    keyring: Keyring | None = getattr(request.app.state, "keyring", None)
    if keyring is None:
        raise ApiError(409, "exchange_not_configured", "this site has no cross-tier exchange "
                       "(SUNLIGHT_AMQP_URL and keys are not set)")
    order = supervision.issue(session, settings.site_code, keyring, staff, target=body.target,
                              receipt=body.receipt, text=body.text, due_on=body.due_on)
    return _order_out(order)


@router.get("/supervision/orders", response_model=list[OrderOut], responses=ERRORS)
def list_orders(staff: SupervisorDep, session: SessionDep, settings: SettingsDep,
                status: Annotated[str | None, Query(pattern="^(open|answered)$")] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[OrderOut]:
    """Orders issued here and orders addressed here, newest first."""
    return [_order_out(o) for o in supervision.orders(session, settings.site_code, status, limit)]


@router.post("/supervision/orders/{order_id}/answer", response_model=OrderOut,
             responses=ERRORS)
def answer_order(order_id: uuid.UUID, body: AnswerIn, staff: SupervisorDep,
                 session: SessionDep, settings: SettingsDep) -> OrderOut:
    """Answer an order addressed to this site; the answer goes back to the issuer."""
    order = supervision.answer(session, settings.site_code, staff, order_id, body.text)
    return _order_out(order)


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

