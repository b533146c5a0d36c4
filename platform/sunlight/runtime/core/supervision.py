"""Supervision orders (督办): issued above, answered at the addressed site, answer sent back.

An upper site addresses an order to a case (by receipt) at a lower site; the order
travels down through intermediate tiers, the addressed site records it, an approver (or
admin) of the case's department answers, and the answer travels up to the issuer, which
records it on its own copy of the order. Each step is audited at the site where it happens.

Example::

    >>> order = issue(session, "320000", keyring, staff, target="320703",
    ...               receipt="320703-20261201-000001", text="请说明超期原因")  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.models import Case, SupervisionOrder
from sunlight.runtime.errors import ApiError, not_found
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Applied, NotApplicable
from sunlight.runtime.exchange.schemas import ANSWER, ORDER
from sunlight.runtime.exchange.signing import Keyring
from sunlight.runtime.exchange.topology import next_hop_down
from sunlight.topology.division import expected_parent


def _role(staff: Staff) -> str:
    return "admin" if staff.is_admin else "approver"


def issue(session: Session, site: str, keyring: Keyring, staff: Staff, *, target: str,
          receipt: str, text: str, due_on: date | None = None) -> SupervisionOrder:
    """Record an order here and queue it towards ``target`` (a subordinate site)."""
    if not keyring.is_descendant(target):
        raise ApiError(422, "not_a_subordinate", f"{target} is not a subordinate site of "
                       f"{site} (no key for it)", field="target")
    now = datetime.now(UTC)
    order = SupervisionOrder(id=uuid.uuid4(), issuer=site, target=target, receipt=receipt,
                             text=text, due_on=due_on, issued_by=staff.username, issued_at=now,
                             status="open")
    session.add(order)
    data: dict[str, Any] = {"order_id": str(order.id), "receipt": receipt, "text": text,
                            "issued_by": staff.username, "issued_at": now.isoformat()}
    if due_on:
        data["due_on"] = due_on.isoformat()
    outbox.enqueue(session, next_hop_down(site, target),
                   Envelope.new(site, ORDER, data, destination=target, time=now))
    audit(session, site, actor=staff.username, role=_role(staff), entity="supervision",
          entity_id=str(order.id), action="issue", to_state="open",
          comment=f"{target} {receipt}")
    return order


def receive_order(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """The addressed site records an order (once: the inbox already dropped duplicates)."""
    data = env["data"]
    due = data.get("due_on")
    session.execute(insert(SupervisionOrder).values(
        id=uuid.UUID(data["order_id"]), issuer=env["source"], target=site,
        receipt=data["receipt"], text=data["text"],
        due_on=date.fromisoformat(due) if due else None, issued_by=data["issued_by"],
        issued_at=datetime.fromisoformat(data["issued_at"]), status="open",
        received_at=datetime.now(UTC)).on_conflict_do_nothing(index_elements=["id"]))
    audit(session, site, actor=f"site:{env['source']}", role="supervisor", entity="supervision",
          entity_id=data["order_id"], action="receive", to_state="open",
          comment=data["receipt"])
    return "applied"


def answer(session: Session, site: str, staff: Staff, order_id: uuid.UUID,
           text: str) -> SupervisionOrder:
    """An approver or admin of the case's department answers; the answer goes up."""
    order = session.get(SupervisionOrder, order_id, with_for_update=True)
    if order is None or order.target != site:
        raise not_found(f"supervision order {order_id} addressed to this site")
    case = session.scalars(select(Case).where(Case.receipt == order.receipt)).first()
    if not staff.is_admin and (case is None or case.department != staff.department):
        raise not_found(f"supervision order {order_id} in your department")
    if order.status != "open":
        raise ApiError(409, "already_answered", f"order {order_id} was answered at "
                       f"{order.answered_at}")
    parent = expected_parent(site)
    assert parent is not None, "an order addressed to a site has come from above it"
    now = datetime.now(UTC)
    order.status, order.answer, order.answered_by, order.answered_at = (
        "answered", text, staff.username, now)
    data = {"order_id": str(order.id), "receipt": order.receipt, "text": text,
            "answered_by": staff.username, "answered_at": now.isoformat(),
            "case_status": case.status if case else None}
    outbox.enqueue(session, parent, Envelope.new(site, ANSWER, data, destination=order.issuer,
                                                 time=now))
    audit(session, site, actor=staff.username, role=_role(staff), entity="supervision",
          entity_id=str(order.id), action="answer", from_state="open", to_state="answered")
    return order


def receive_answer(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """The issuer records the answer on its copy of the order.

    Raises :class:`~sunlight.runtime.exchange.handlers.NotApplicable` for an answer to an
    order not issued here to its source (dead-lettered by the transport).
    """
    data = env["data"]
    order = session.get(SupervisionOrder, uuid.UUID(data["order_id"]), with_for_update=True)
    if order is None or order.issuer != site or order.target != env["source"]:
        raise NotApplicable(f"no order {data['order_id']} issued here to {env['source']}")
    order.status, order.answer, order.answered_by = "answered", data["text"], data["answered_by"]
    order.answered_at = datetime.fromisoformat(data["answered_at"])
    order.received_at = datetime.now(UTC)
    audit(session, site, actor=f"site:{env['source']}", role="supervisor", entity="supervision",
          entity_id=data["order_id"], action="answered", from_state="open",
          to_state="answered")
    return "applied"


def orders(session: Session, site: str, status: str | None, limit: int) -> list[SupervisionOrder]:
    """Orders issued here and orders addressed here, newest first."""
    stmt = select(SupervisionOrder).where((SupervisionOrder.issuer == site)
                                          | (SupervisionOrder.target == site))
    if status:
        stmt = stmt.where(SupervisionOrder.status == status)
    return list(session.scalars(stmt.order_by(SupervisionOrder.issued_at.desc()).limit(limit)))
