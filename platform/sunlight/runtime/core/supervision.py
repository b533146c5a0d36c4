"""Supervision orders (督办) that close the loop: issue, answer, accept or return, escalate.

Supervisors (监察室; the ``supervisor`` role, or an admin) issue an order either to a
department of their **own** site (with or without a case's receipt) or to a case (by
receipt) at a **lower** site; an order from above travels down through intermediate tiers
and the addressed site records it. An approver (or admin) of the addressed department
answers; an answer to an order from above goes up to the issuer. The issuing site's
supervisors then **accept** the answer (the order is closed) or **return** it with a reason
(the order is open again and the department answers again); across tiers the review travels
down to the addressed site (``sunlight.supervision.review``). Every order has a due date in
working days (:func:`sunlight.supervision.orders.order_due_on`, 3 by default).

A red light whose rule says ``auto_order`` issues an order by itself (:func:`auto_order`,
issued by ``system``: one per case and rule). An order still waiting for its answer after
its due date escalates one tier up (:func:`escalate_overdue`, run by core's periodic tick):
it is marked escalated here and ``sunlight.supervision.escalation`` tells the parent, which
records it and lists it for its own supervisors. One hop only: a copy received by
escalation escalates no further.

Each step is audited at the site where it happens (``entity`` ``supervision``). The states
and moves are :mod:`sunlight.supervision.orders` (pure); ``now`` always comes from the
caller (core's clock), never from the system clock, except for arrival stamps.

Example::

    >>> order = issue(session, "320000", keyring, staff, target="320703",
    ...               receipt="320703-20261201-000001", text="请说明超期原因",
    ...               now=clock.now())  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.clock import CHINA
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import Staff, require_site_wide, require_watch
from sunlight.runtime.core.models import Case, Department, SubordinateCase, SupervisionOrder
from sunlight.runtime.errors import ApiError, not_found
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.schemas import ANSWER, ESCALATION, ORDER, REVIEW
from sunlight.runtime.exchange.signing import Keyring
from sunlight.runtime.exchange.topology import ancestors, next_hop_down
from sunlight.supervision.orders import (
    DEFAULT_DUE_DAYS,
    OrderMove,
    OrderStateError,
    OrderStatus,
    next_status,
    order_due_on,
    should_escalate,
)
from sunlight.topology.division import DivisionError, expected_parent

SYSTEM = "system"
AUTO_PREFIX = "【自动督办】"


class AutoOrderHit(Protocol):
    """What :func:`auto_order` reads of a fired rule (a ``supervision.evaluate.Hit``)."""

    @property
    def rule_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def detail(self) -> str: ...


def may_supervise(staff: Staff) -> bool:
    """Supervisors (监察室) and admins issue, review and inspect."""
    return "supervisor" in staff.roles or staff.is_admin


def _role(staff: Staff) -> str:
    if staff.is_admin:
        return "admin"
    return "supervisor" if "supervisor" in staff.roles else "approver"


def _china_day(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def add_step(order: SupervisionOrder, at: datetime, by: str, action: str, text: str = "",
             site: str | None = None) -> None:
    """Append one step to the order's history (a new list: JSONB is not mutated in place)."""
    entry = {"at": at.isoformat(), "by": by, "action": action, "text": text}
    if site:
        entry["site"] = site
    order.history = [*(order.history or []), entry]


def _require_supervisor(staff: Staff, what: str) -> None:
    if not may_supervise(staff):
        raise ApiError(403, "forbidden", f"{what} needs the supervisor role (监察室) or admin; "
                       f"{staff.username} has {', '.join(staff.roles) or 'no role'}")


def require_order_scope(staff: Staff, site: str, order: SupervisionOrder, what: str) -> None:
    """A supervisor acts on (sees, accepts, returns) an order of a department it covers
    here; orders to or from other sites are for site-wide supervisors (403 otherwise)."""
    if order.target != site or order.escalated_from is not None:
        require_site_wide(staff, f"{what}: an order of site {order.target}")
    else:
        require_watch(staff, order.department, what)


def _due(now: datetime, due_days: int | None, due_on: date | None) -> date:
    today = _china_day(now)
    if due_on is not None and due_days is not None:
        raise ApiError(422, "invalid_due", "give due_days or due_on, not both", field="due_on")
    if due_on is not None:
        if due_on < today:
            raise ApiError(422, "invalid_due", f"due_on {due_on} is before today ({today})",
                           field="due_on")
        return due_on
    try:
        return order_due_on(today, due_days or DEFAULT_DUE_DAYS)
    except ValueError as exc:
        raise ApiError(422, "invalid_due", str(exc), field="due_days") from exc


def issue(session: Session, site: str, keyring: Keyring | None, staff: Staff, *,
          target: str | None, receipt: str | None, text: str, now: datetime,
          department: str | None = None, due_on: date | None = None,
          due_days: int | None = None) -> SupervisionOrder:
    """Record an order here; one to a lower site is queued towards it.

    ``target`` ``None`` or this site: an order to this site's ``department`` (or to the
    department of the case ``receipt``, which must exist here). Another site: it must be a
    subordinate (below this site, with its key known), ``receipt`` is required and must be
    that site's. Refused with 403 (not a supervisor), 422 (bad target, receipt or due date)
    or 409 (no exchange configured for an order to a lower site).
    """
    _require_supervisor(staff, "issuing a supervision order (督办)")
    target = target or site
    due = _due(now, due_days, due_on)
    if target == site:
        department = _own_department(session, receipt, department)
        require_watch(staff, department, "issuing a supervision order (督办)")
    else:
        require_site_wide(staff, "issuing a supervision order (督办) to a lower site")
        department = _lower_target(session, site, keyring, target, receipt, department)
    order = SupervisionOrder(id=uuid.uuid4(), issuer=site, target=target, receipt=receipt,
                             department=department, text=text, due_on=due,
                             issued_by=staff.username, issued_at=now, status="open",
                             returns=0, history=[])
    add_step(order, now, staff.username, "issue", text, site)
    session.add(order)
    if target != site:
        assert receipt is not None
        data: dict[str, Any] = {"order_id": str(order.id), "receipt": receipt, "text": text,
                                "issued_by": staff.username, "issued_at": now.isoformat(),
                                "due_on": due.isoformat()}
        outbox.enqueue(session, next_hop_down(site, target),
                       Envelope.new(site, ORDER, data, destination=target, time=now))
    audit(session, site, actor=staff.username, role=_role(staff), entity="supervision",
          entity_id=str(order.id), action="issue", to_state="open",
          comment=f"{target} {department or '-'} {receipt or '-'} due {due.isoformat()}")
    return order


def _own_department(session: Session, receipt: str | None, department: str | None) -> str:
    if receipt is not None:
        case = session.scalars(select(Case).where(Case.receipt == receipt)).first()
        if case is None:
            raise ApiError(422, "unknown_receipt", f"no case with receipt {receipt} at this "
                           "site", field="receipt")
        if department is not None and department != case.department:
            raise ApiError(422, "department_mismatch", f"case {receipt} belongs to "
                           f"{case.department}, not {department}", field="department")
        return case.department
    if department is None:
        raise ApiError(422, "no_addressee", "an order to this site names a department "
                       "or a case's receipt", field="department")
    if session.get(Department, department) is None:
        raise ApiError(422, "unknown_department", f"no department {department} at this site",
                       field="department")
    return department


def _lower_target(session: Session, site: str, keyring: Keyring | None, target: str,
                  receipt: str | None, department: str | None) -> str | None:
    try:
        above = ancestors(target)
    except DivisionError as exc:
        raise ApiError(422, "not_a_subordinate", f"target {target}: {exc}",
                       field="target") from exc
    if site not in above:
        raise ApiError(422, "not_a_subordinate", f"{target} is not a subordinate site of "
                       f"{site}", field="target")
    if keyring is None:
        raise ApiError(409, "exchange_not_configured", "this site has no cross-tier exchange "
                       "(SUNLIGHT_AMQP_URL and keys are not set)")
    if not keyring.is_descendant(target):
        raise ApiError(422, "not_a_subordinate", f"{target} is not a subordinate site of "
                       f"{site} (no key for it)", field="target")
    if receipt is None:
        raise ApiError(422, "no_receipt", "an order to a lower site names the case's receipt",
                       field="receipt")
    if not receipt.startswith(f"{target}-"):
        raise ApiError(422, "receipt_not_at_target", f"receipt {receipt} is not a case of "
                       f"{target}", field="receipt")
    seen = session.get(SubordinateCase, (target, receipt))
    return department or (seen.department if seen else None)


def auto_order(session: Session, site: str, case: Case, hits: Sequence[AutoOrderHit],
               now: datetime, due_days: int = DEFAULT_DUE_DAYS) -> list[SupervisionOrder]:
    """Issue this site's automatic orders for the red ``auto_order`` rules that fired on
    ``case`` (``hits``: the caller passes ``Verdict.auto_orders``): one per case and rule,
    ever — a rule that already ordered this case is skipped. Returns the new orders."""
    made: list[SupervisionOrder] = []
    due = order_due_on(_china_day(now), due_days)
    for hit in hits:
        text = f"{AUTO_PREFIX}{hit.text}（{hit.detail}）"[:4000]
        step = {"at": now.isoformat(), "by": SYSTEM, "action": "issue", "text": text,
                "site": site}
        order_id = session.execute(
            insert(SupervisionOrder).values(
                id=uuid.uuid4(), issuer=site, target=site, receipt=case.receipt,
                department=case.department, text=text, due_on=due, issued_by=SYSTEM,
                issued_at=now, status="open", rule_id=hit.rule_id, returns=0, history=[step])
            .on_conflict_do_nothing(
                index_elements=["issuer", "target", "receipt", "rule_id"],
                index_where=SupervisionOrder.rule_id.is_not(None))
            .returning(SupervisionOrder.id)).scalar()
        if order_id is None:
            continue
        audit(session, site, actor=SYSTEM, role=SYSTEM, entity="supervision",
              entity_id=str(order_id), action="issue", to_state="open",
              comment=f"auto {hit.rule_id} {case.department} {case.receipt} "
                      f"due {due.isoformat()}")
        order = session.get(SupervisionOrder, order_id)
        assert order is not None
        made.append(order)
    return made


def locked(session: Session, order_id: uuid.UUID) -> SupervisionOrder | None:
    """The order, locked until commit (answers and reviews of one order take turns)."""
    return session.get(SupervisionOrder, order_id, with_for_update=True)


def _move(order: SupervisionOrder, move: OrderMove) -> OrderStatus:
    try:
        return next_status(order.status, move)
    except OrderStateError as exc:
        code = {"answered": "already_answered", "accepted": "order_closed"}.get(
            order.status, "not_answered")
        raise ApiError(409, code, f"{exc} (order {order.id})") from exc


def answer(session: Session, site: str, staff: Staff, order_id: uuid.UUID, text: str,
           now: datetime) -> SupervisionOrder:
    """An approver (or admin) of the addressed department answers; an answer to an order
    from above goes up to the issuer."""
    order = locked(session, order_id)
    if order is None or order.target != site:
        raise not_found(f"supervision order {order_id} addressed to this site")
    if not staff.is_admin:
        if "approver" not in staff.roles:
            raise ApiError(403, "forbidden", "answering a supervision order needs the approver "
                           "role of the addressed department (or admin)")
        if order.department != staff.department:
            raise not_found(f"supervision order {order_id} in your department")
    before = order.status
    order.status = _move(order, OrderMove.answer).value
    order.answer, order.answered_by, order.answered_at = text, staff.username, now
    add_step(order, now, staff.username, "answer", text, site)
    if order.issuer != site:
        parent = expected_parent(site)
        assert parent is not None, "an order addressed to a site has come from above it"
        case = (session.scalars(select(Case).where(Case.receipt == order.receipt)).first()
                if order.receipt else None)
        data = {"order_id": str(order.id), "receipt": order.receipt, "text": text,
                "answered_by": staff.username, "answered_at": now.isoformat(),
                "case_status": case.status if case else None}
        outbox.enqueue(session, parent, Envelope.new(site, ANSWER, data,
                                                     destination=order.issuer, time=now))
    audit(session, site, actor=staff.username, role=_role(staff), entity="supervision",
          entity_id=str(order.id), action="answer", from_state=before, to_state=order.status)
    return order


def review(session: Session, site: str, staff: Staff, order_id: uuid.UUID, move: OrderMove,
           note: str, now: datetime) -> SupervisionOrder:
    """The issuing site's supervisors accept the answer (closed) or return it with a reason
    (open again); across tiers the decision travels down to the addressed site."""
    _require_supervisor(staff, f"{move.zh} ({move.value} an answer)")
    if move is OrderMove.answer:
        raise ValueError("review takes accept or return")
    order = locked(session, order_id)
    if order is None or order.issuer != site:
        raise not_found(f"supervision order {order_id} issued by this site")
    require_order_scope(staff, site, order, f"{move.zh} (order {order_id})")
    if move is OrderMove.return_ and not note.strip():
        raise ApiError(422, "no_reason", "returning an answer needs the reason",
                       field="reason")
    before = order.status
    order.status = _move(order, move).value
    apply_review(order, move, note, staff.username, now, site)
    if order.target != site:
        data = {"order_id": str(order.id), "decision": move.value, "note": note,
                "reviewed_by": staff.username, "reviewed_at": now.isoformat()}
        outbox.enqueue(session, next_hop_down(site, order.target),
                       Envelope.new(site, REVIEW, data, destination=order.target, time=now))
    audit(session, site, actor=staff.username, role=_role(staff), entity="supervision",
          entity_id=str(order.id), action=move.value, from_state=before,
          to_state=order.status, comment=note[:4000])
    return order


def apply_review(order: SupervisionOrder, move: OrderMove, note: str, by: str, at: datetime,
                 site: str) -> None:
    """Record an acceptance or a return (with its reason) on ``order`` (status already set)."""
    order.reviewed_by, order.reviewed_at, order.review_note = by, at, note or None
    if move is OrderMove.return_:
        order.returns = (order.returns or 0) + 1
    add_step(order, at, by, move.value, note, site)


def escalate_overdue(session: Session, site: str, now: datetime) -> int:
    """Escalate every order addressed here that waits for its answer past its due date:
    mark it escalated here and tell the parent (one hop). Returns how many escalated; a
    province (no parent) escalates nothing."""
    parent = expected_parent(site)
    if parent is None:
        return 0
    today = _china_day(now)
    stmt = (select(SupervisionOrder)
            .where(SupervisionOrder.target == site, SupervisionOrder.status == "open",
                   SupervisionOrder.escalated_at.is_(None),
                   SupervisionOrder.escalated_from.is_(None),
                   SupervisionOrder.due_on < today)
            .order_by(SupervisionOrder.due_on).with_for_update(skip_locked=True))
    count = 0
    for order in session.scalars(stmt):
        if not should_escalate(order.status, order.due_on, today=today):
            continue
        assert order.due_on is not None
        order.escalated_at, order.escalated_to = now, parent
        note = f"逾期未答复（应于 {order.due_on.isoformat()} 前答复），报上级 {parent} 督办"
        add_step(order, now, SYSTEM, "escalate", note, site)
        data: dict[str, Any] = {
            "order_id": str(order.id), "issuer": order.issuer, "target": site,
            "department": order.department, "receipt": order.receipt, "text": order.text,
            "due_on": order.due_on.isoformat(), "issued_by": order.issued_by,
            "issued_at": order.issued_at.isoformat(), "status": order.status,
            "returns": order.returns or 0, "escalated_at": now.isoformat()}
        outbox.enqueue(session, parent, Envelope.new(site, ESCALATION, data,
                                                     destination=parent, time=now))
        audit(session, site, actor=SYSTEM, role=SYSTEM, entity="supervision",
              entity_id=str(order.id), action="escalate", from_state=order.status,
              to_state=order.status, comment=note)
        count += 1
    return count


def _here(site: str) -> Any:
    return ((SupervisionOrder.issuer == site) | (SupervisionOrder.target == site)
            | SupervisionOrder.escalated_from.is_not(None))


def _visible(site: str, staff: Staff) -> Any:
    if may_supervise(staff) and staff.site_wide:
        return _here(site)
    if may_supervise(staff):  # a supervisor scoped to departments: theirs, here only
        return ((SupervisionOrder.target == site) & SupervisionOrder.escalated_from.is_(None)
                & SupervisionOrder.department.in_(sorted(staff.covers or ())))
    return (SupervisionOrder.target == site) & (SupervisionOrder.department == staff.department)


def orders(session: Session, site: str, staff: Staff, *, status: str | None = None,
           limit: int = 100, escalated: bool | None = None,
           department: str | None = None) -> list[SupervisionOrder]:
    """Orders this person may see here, newest first: supervisors and admins see every order
    issued here, addressed here or escalated here; approvers the orders addressed to their
    department. ``escalated``: only escalated ones (sent up from here or received)."""
    stmt = select(SupervisionOrder).where(_visible(site, staff))
    if status:
        stmt = stmt.where(SupervisionOrder.status == status)
    if escalated is not None:
        flag = SupervisionOrder.escalated_at.is_not(None)
        stmt = stmt.where(flag if escalated else ~flag)
    if department:
        stmt = stmt.where(SupervisionOrder.department == department)
    return list(session.scalars(stmt.order_by(SupervisionOrder.issued_at.desc(),
                                              SupervisionOrder.id).limit(limit)))


def get(session: Session, site: str, staff: Staff, order_id: uuid.UUID) -> SupervisionOrder:
    """One order this person may see here (404 otherwise; 403 for a supervisor's order
    outside the departments it covers)."""
    order = session.scalars(select(SupervisionOrder).where(
        SupervisionOrder.id == order_id,
        _here(site) if may_supervise(staff) else _visible(site, staff))).first()
    if order is None:
        raise not_found(f"supervision order {order_id}")
    if may_supervise(staff):
        require_order_scope(staff, site, order, f"supervision order {order_id}")
    return order


def is_overdue(order: SupervisionOrder, today: date) -> bool:
    """Waiting for its answer after its due date."""
    return (order.status == OrderStatus.open.value and order.due_on is not None
            and today > order.due_on)
