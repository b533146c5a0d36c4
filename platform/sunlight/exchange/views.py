"""The parent's per-subordinate view: case events applied in order, statistics snapshots.

Keyed by source site. A case event is applied only after its predecessor; an early one is
held (``exchange_held_events``) and applied as soon as the gap fills, in the same
transaction as the event that filled it. :func:`gaps` lists what is still waiting.

Example::

    >>> apply_case_event(session, envelope)  # doctest: +SKIP
    'held'
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.db import utcnow
from sunlight.exchange.models import (
    HeldEvent,
    SubordinateCase,
    SubordinateCaseEvent,
    SubordinateStats,
)
from sunlight.exchange.sequencing import Gap, drain, place

Applied = Literal["applied", "held", "stale"]


def _case_row(session: Session, source: str, receipt: str) -> SubordinateCase:
    """The case's row, created if new, locked (the upsert locks it) until commit."""
    stmt = insert(SubordinateCase).values(source=source, receipt=receipt, last_seq=0,
                                          overdue=False, updated_at=utcnow())
    # A no-op update rather than DO NOTHING: it returns (and locks) an existing row too, in
    # one round trip; the lock orders concurrent consumers (replicas) on the same case.
    stmt = stmt.on_conflict_do_update(index_elements=["source", "receipt"],
                                      set_={"source": stmt.excluded.source})
    row: SubordinateCase = session.scalars(
        select(SubordinateCase).from_statement(stmt.returning(SubordinateCase)),
        execution_options={"populate_existing": True}).one()
    return row


def _apply_one(session: Session, row: SubordinateCase, env: dict[str, Any]) -> None:
    data = env["data"]
    session.add(SubordinateCaseEvent(
        source=row.source, receipt=row.receipt, seq=env["sequence"],
        event_id=uuid.UUID(env["id"]),
        action=data["action"], from_status=data["from_status"], to_status=data["to_status"],
        at=datetime.fromisoformat(data["at"])))
    row.last_seq = env["sequence"]
    row.status, row.department, row.item_code = data["to_status"], data["department"], \
        data["item_code"]
    row.decision, row.overdue = data["decision"], data["overdue"]
    row.due_on = datetime.fromisoformat(data["due_on"]).date()
    row.updated_at = utcnow()


def apply_case_event(session: Session, env: dict[str, Any]) -> Applied:
    """Apply, hold or drop one verified case event; drain the held ones it unblocks."""
    source, receipt, seq = env["source"], env["subject"], env["sequence"]
    row = _case_row(session, source, receipt)
    placement = place(row.last_seq, seq)
    if placement == "stale":
        return "stale"
    if placement == "hold":
        session.add(HeldEvent(event_id=uuid.UUID(env["id"]), source=source, receipt=receipt,
                              seq=seq, envelope=env))
        return "held"
    _apply_one(session, row, env)
    held = {h.seq: h for h in session.scalars(select(HeldEvent).where(
        HeldEvent.source == source, HeldEvent.receipt == receipt))}
    for n in drain(row.last_seq, held):
        _apply_one(session, row, held[n].envelope)
        session.delete(held[n])
    if held:
        # Held events at or below what is now applied can never apply (a source replaying
        # an old sequence under a new id): drop them rather than hold them for ever.
        session.execute(delete(HeldEvent).where(HeldEvent.source == source,
                                                HeldEvent.receipt == receipt,
                                                HeldEvent.seq <= row.last_seq))
    return "applied"


def apply_stats(session: Session, env: dict[str, Any]) -> Applied:
    """Keep the newest snapshot per source (snapshots may cross each other in flight)."""
    as_of = datetime.fromisoformat(env["data"]["as_of"])
    current = session.get(SubordinateStats, env["source"], with_for_update=True)
    if current is not None and current.as_of >= as_of:
        return "stale"
    if current is None:
        session.add(SubordinateStats(source=env["source"], as_of=as_of, snapshot=env["data"]))
    else:
        current.as_of, current.snapshot, current.received_at = as_of, env["data"], utcnow()
    return "applied"


def gaps(session: Session) -> list[Gap]:
    """Every case with held events, oldest first."""
    stmt = (select(HeldEvent.source, HeldEvent.receipt, func.min(HeldEvent.held_since),
                   func.array_agg(HeldEvent.seq), SubordinateCase.last_seq)
            .join(SubordinateCase, (SubordinateCase.source == HeldEvent.source)
                  & (SubordinateCase.receipt == HeldEvent.receipt))
            .group_by(HeldEvent.source, HeldEvent.receipt, SubordinateCase.last_seq)
            .order_by(func.min(HeldEvent.held_since)))
    return [Gap(source, receipt, applied, tuple(sorted(seqs)), since)
            for source, receipt, since, seqs, applied in session.execute(stmt)]


def mark_reported(session: Session, gap: Gap) -> bool:
    """Flag a gap's held events as reported; False if it was reported before."""
    rows = session.scalars(select(HeldEvent).where(
        HeldEvent.source == gap.source, HeldEvent.receipt == gap.receipt,
        HeldEvent.reported.is_(False))).all()
    for row in rows:
        row.reported = True
    return bool(rows)
