"""What arrives from other tiers about 督办 orders: core's handlers of the supervision events.

Registered in :mod:`sunlight.runtime.core.cross_tier`; each runs in the consumer's
transaction and is audited at this site:

- ``sunlight.supervision.order`` (down): the addressed site records an order from above;
- ``sunlight.supervision.answer`` (up): the issuer records the answer;
- ``sunlight.supervision.review`` (down): the addressed site records the issuer's
  acceptance (closed) or return (open again, with the reason) of its answer;
- ``sunlight.supervision.escalation`` (up): the parent records an order a child escalated
  (overdue, unanswered), on its own copy or as a new one listed for its supervisors.

Answers and reviews that match no order here are refused
(:class:`~sunlight.runtime.exchange.handlers.NotApplicable`, dead-lettered).

Example::

    >>> receive_review(session, "320703", envelope)  # doctest: +SKIP
    'applied'
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import Case, SupervisionOrder
from sunlight.runtime.core.supervision import SYSTEM, add_step, apply_review, locked
from sunlight.runtime.exchange.handlers import Applied, NotApplicable
from sunlight.supervision.orders import OrderMove, OrderStateError, next_status


def receive_order(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """The addressed site records an order (once: the inbox already dropped duplicates)."""
    data = env["data"]
    due = data.get("due_on")
    case = session.scalars(select(Case).where(Case.receipt == data["receipt"])).first()
    step = {"at": data["issued_at"], "by": data["issued_by"], "action": "issue",
            "text": data["text"], "site": env["source"]}
    session.execute(insert(SupervisionOrder).values(
        id=uuid.UUID(data["order_id"]), issuer=env["source"], target=site,
        receipt=data["receipt"], department=case.department if case else None,
        text=data["text"], due_on=date.fromisoformat(due) if due else None,
        issued_by=data["issued_by"], issued_at=datetime.fromisoformat(data["issued_at"]),
        status="open", received_at=datetime.now(UTC), returns=0, history=[step],
    ).on_conflict_do_nothing(index_elements=["id"]))
    audit(session, site, actor=f"site:{env['source']}", role="supervisor", entity="supervision",
          entity_id=data["order_id"], action="receive", to_state="open",
          comment=data["receipt"])
    return "applied"


def receive_answer(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """The issuer records the answer on its copy of the order.

    Raises :class:`~sunlight.runtime.exchange.handlers.NotApplicable` for an answer to an
    order not issued here to its source (dead-lettered by the transport).
    """
    data = env["data"]
    order = locked(session, uuid.UUID(data["order_id"]))
    if order is None or order.issuer != site or order.target != env["source"]:
        raise NotApplicable(f"no order {data['order_id']} issued here to {env['source']}")
    before = order.status
    at = datetime.fromisoformat(data["answered_at"])
    order.status, order.answer, order.answered_by = "answered", data["text"], data["answered_by"]
    order.answered_at, order.received_at = at, datetime.now(UTC)
    add_step(order, at, data["answered_by"], "answer", data["text"], env["source"])
    audit(session, site, actor=f"site:{env['source']}", role="supervisor", entity="supervision",
          entity_id=data["order_id"], action="answered", from_state=before,
          to_state="answered")
    return "applied"


def receive_review(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """The addressed site records the issuer's acceptance or return of its answer.

    Raises :class:`NotApplicable` for an order not addressed here by the event's source, or
    one that is not waiting for a review.
    """
    data = env["data"]
    order = locked(session, uuid.UUID(data["order_id"]))
    if order is None or order.target != site or order.issuer != env["source"]:
        raise NotApplicable(f"no order {data['order_id']} addressed here by {env['source']}")
    move = OrderMove(data["decision"])
    try:
        after = next_status(order.status, move)
    except OrderStateError as exc:
        raise NotApplicable(f"order {order.id}: {exc}") from exc
    before, order.status = order.status, after.value
    apply_review(order, move, data["note"], data["reviewed_by"],
                 datetime.fromisoformat(data["reviewed_at"]), env["source"])
    order.received_at = datetime.now(UTC)
    audit(session, site, actor=f"site:{env['source']}", role="supervisor", entity="supervision",
          entity_id=str(order.id),
          action="returned" if move is OrderMove.return_ else "accepted",
          from_state=before, to_state=order.status, comment=data["note"][:4000])
    return "applied"


def receive_escalation(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """The parent records an order escalated by a child: on its own order (it issued it) or
    as a new copy, listed for its supervisors with the child's site, department, receipt,
    text and due date."""
    data = env["data"]
    at = datetime.fromisoformat(data["escalated_at"])
    note = f"{env['source']} 逾期未答复（应于 {data['due_on']} 前答复），上报督办"
    order = locked(session, uuid.UUID(data["order_id"]))
    if order is None:
        order = SupervisionOrder(
            id=uuid.UUID(data["order_id"]), issuer=data["issuer"], target=data["target"],
            receipt=data.get("receipt"), department=data.get("department"), text=data["text"],
            due_on=date.fromisoformat(data["due_on"]), issued_by=data["issued_by"],
            issued_at=datetime.fromisoformat(data["issued_at"]), status=data["status"],
            returns=data.get("returns", 0), history=[])
        add_step(order, order.issued_at, order.issued_by, "issue", order.text, order.issuer)
        session.add(order)
    order.escalated_from, order.escalated_at = env["source"], at
    order.received_at = datetime.now(UTC)
    add_step(order, at, SYSTEM, "escalate", note, env["source"])
    audit(session, site, actor=f"site:{env['source']}", role=SYSTEM, entity="supervision",
          entity_id=data["order_id"], action="escalated", to_state=order.status,
          comment=f"{data['target']} {data.get('department') or '-'} "
                  f"{data.get('receipt') or '-'} due {data['due_on']}")
    return "applied"
