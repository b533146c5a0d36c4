"""The parent's per-subordinate view: case events applied in order, lights, statistics.

The handlers of ``sunlight.case.event``, ``sunlight.case.light`` and
``sunlight.stats.snapshot`` (registered in :mod:`sunlight.runtime.core.cross_tier`), and
the gap view the exchange's housekeeping reports from. Keyed by source site. A light change
travels outside the per-case sequence: the newest change of each case is kept
(``subordinate_lights``), one arriving after a newer one is dropped (:func:`apply_light`).
A case event is applied only after its predecessor
(:mod:`sunlight.runtime.exchange.sequencing`); an early one is held
(``exchange_held_events``) and applied as soon as the gap fills, in the same transaction as
the event that filled it. :func:`gaps` lists what is still waiting.

Example::

    >>> apply_case_event(session, envelope)  # doctest: +SKIP
    'held'
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Session

from sunlight.runtime.core.models import (
    SubordinateCase,
    SubordinateCaseEvent,
    SubordinateLight,
    SubordinateStats,
)
from sunlight.runtime.db import utcnow
from sunlight.runtime.exchange.handlers import Applied
from sunlight.runtime.exchange.models import HeldEvent
from sunlight.runtime.exchange.sequencing import Gap, drain, place

# The hot path (every case event at every ancestor) uses fixed statements: built once,
# compiled once, no ORM objects. The upsert's no-op update (rather than DO NOTHING) returns
# and locks an existing row too, in one round trip; the row lock orders concurrent
# consumers (replicas) on the same case until commit.
_LOCK_CASE = text(
    "INSERT INTO subordinate_cases (source, receipt, last_seq, overdue, updated_at) "
    "VALUES (:source, :receipt, 0, false, now()) "
    "ON CONFLICT (source, receipt) DO UPDATE SET source = excluded.source "
    "RETURNING last_seq")
_HELD = text("SELECT seq, envelope FROM exchange_held_events "
             "WHERE source = :source AND receipt = :receipt")
_DROP_HELD = text("DELETE FROM exchange_held_events "
                  "WHERE source = :source AND receipt = :receipt AND seq <= :seq")
_UPDATE_CASE = text(
    "UPDATE subordinate_cases SET last_seq = :seq, status = :status, "
    "department = :department, item_code = :item_code, decision = :decision, "
    "due_on = :due_on, overdue = :overdue, updated_at = now() "
    "WHERE source = :source AND receipt = :receipt")
_ADD_EVENT = insert(SubordinateCaseEvent)


def _event_row(env: dict[str, Any]) -> dict[str, Any]:
    data = env["data"]
    return {"source": env["source"], "receipt": env["subject"], "seq": env["sequence"],
            "event_id": uuid.UUID(env["id"]), "action": data["action"],
            "from_status": data["from_status"], "to_status": data["to_status"],
            "at": datetime.fromisoformat(data["at"]), "applied_at": utcnow()}


def _apply(session: Session, envs: list[dict[str, Any]]) -> None:
    """Record ``envs`` (consecutive, in order) and move the case to the last one's state."""
    session.execute(_ADD_EVENT, [_event_row(e) for e in envs])
    last, data = envs[-1], envs[-1]["data"]
    session.execute(_UPDATE_CASE, {
        "seq": last["sequence"], "status": data["to_status"], "department": data["department"],
        "item_code": data["item_code"], "decision": data["decision"],
        "due_on": datetime.fromisoformat(data["due_on"]).date(), "overdue": data["overdue"],
        "source": last["source"], "receipt": last["subject"]})


def apply_case_event(session: Session, env: dict[str, Any]) -> Applied:
    """Apply, hold or drop one verified case event; drain the held ones it unblocks."""
    key = {"source": env["source"], "receipt": env["subject"]}
    applied = session.execute(_LOCK_CASE, key).scalar_one()
    placement = place(applied, env["sequence"])
    if placement == "stale":
        return "stale"
    if placement == "hold":
        # Written now (not left to the ORM's flush): the next delivery in this batch may be
        # the one that fills the gap, and its _HELD query must see this row.
        session.execute(insert(HeldEvent), [{"event_id": uuid.UUID(env["id"]),
                                             "seq": env["sequence"], "envelope": env,
                                             "held_since": utcnow(), "reported": False, **key}])
        return "held"
    held = {seq: envelope for seq, envelope in session.execute(_HELD, key)}
    ready = [env] + [held[n] for n in drain(env["sequence"], held)]
    _apply(session, ready)
    if held:
        # Held events at or below what is now applied can never apply (a source replaying
        # an old sequence under a new id): drop them rather than hold them for ever.
        session.execute(_DROP_HELD, {**key, "seq": ready[-1]["sequence"]})
    return "applied"


def apply_light(session: Session, env: dict[str, Any]) -> Applied:
    """Keep the newest light of each subordinate case: by the source's change number, then
    its time (changes cross in flight, and a redelivery comes late)."""
    d = env["data"]
    values = {"department": d["department"], "item_code": d["item_code"],
              "status": d["status"], "light": d["light"], "rule_ids": d["rule_ids"],
              "hits": d["hits"], "change": d["change"],
              "at": datetime.fromisoformat(d["at"]), "received_at": utcnow()}
    stmt = upsert(SubordinateLight).values(source=env["source"], receipt=d["receipt"], **values)
    newer = (tuple_(SubordinateLight.change, SubordinateLight.at)
             < tuple_(stmt.excluded.change, stmt.excluded.at))
    stored = session.execute(stmt.on_conflict_do_update(
        index_elements=["source", "receipt"], set_=values, where=newer)
        .returning(SubordinateLight.receipt)).first()
    return "applied" if stored is not None else "stale"


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
