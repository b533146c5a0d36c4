"""The gateway's two directions, each a short transaction on the portal database.

Inward: pending outbox rows → validated as staged (:func:`sunlight.runtime.records.parse_staged`)
→ materials added as verified bytes → core's exchange API → marked delivered (a crash in
between redelivers; core answers "duplicate"). Outward: core's feed after the stored cursor
→ validated → applied to the portal DB with an inbox row → cursor advanced, all in one
transaction (case status, catalogue items, and penalty decisions disclosed to the public).
Every record carried is written to :class:`Crossing`, with the sha256 of its canonical JSON
(RFC 8785, :func:`sunlight.canonical.canonical_json`).

Example::

    >>> moved = push_inward(portal_engine, core_client, batch=50)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sunlight.canonical import CanonicalError, canonical_json
from sunlight.runtime.db import transaction, utcnow
from sunlight.runtime.portal.models import (
    Application,
    CatalogueEntry,
    Crossing,
    GatewayCursor,
    Inbox,
    Material,
    Outbox,
    PenaltyDisclosureEntry,
)
from sunlight.runtime.records import (
    CaseStatus,
    CatalogueItem,
    MaterialRecord,
    PenaltyDisclosure,
    Record,
    RecordRejected,
    StagedApplicationResubmitted,
    StagedApplicationSubmitted,
    parse_record,
    parse_staged,
)

log = logging.getLogger(__name__)
CURSOR = "core-outbound"


class CoreUnavailable(RuntimeError):
    """Core did not answer or answered 5xx: retry later, nothing is lost."""


@dataclass
class Moved:
    """What one pass carried, by (direction, record type, outcome)."""

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, direction: str, record_type: str, outcome: str) -> None:
        key = (direction, record_type, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _digest(payload: dict[str, object]) -> str:
    """sha256 of the record's canonical JSON; RecordRejected if it has none."""
    try:
        return hashlib.sha256(canonical_json(payload)).hexdigest()
    except CanonicalError as exc:
        raise RecordRejected(str(exc)) from exc


def _material(session: Session, row: Outbox, ref: uuid.UUID) -> MaterialRecord:
    m = session.get(Material, ref)
    if m is None:
        raise RecordRejected(f"material {ref} of {row.id} is missing")
    if hashlib.sha256(m.content).hexdigest() != m.sha256:
        raise RecordRejected(f"material {m.id}: stored bytes do not match sha256")
    return MaterialRecord.build(id=str(m.id), name=m.name, filename=m.filename,
                                content_type=m.content_type, size=m.size, sha256=m.sha256,
                                content_b64=base64.b64encode(m.content).decode())


def _expand(session: Session, row: Outbox) -> Record:
    """The record as it crosses: validated as staged, material ids replaced by the bytes."""
    staged = parse_staged(row.record_type, row.payload)
    if isinstance(staged, StagedApplicationSubmitted | StagedApplicationResubmitted):
        return staged.with_materials([_material(session, row, ref) for ref in staged.materials])
    return staged


def push_inward(portal: Engine, core: httpx.Client, batch: int) -> Moved:
    moved = Moved()
    with transaction(portal) as session:
        rows = session.scalars(
            select(Outbox).where(Outbox.delivered_at.is_(None), Outbox.rejected_at.is_(None))
            .order_by(Outbox.created_at).limit(batch).with_for_update(skip_locked=True))
        for row in rows:
            row.attempts += 1
            try:
                payload = _expand(session, row).payload()
                digest = _digest(payload)
            except RecordRejected as exc:
                _reject(row, str(exc), moved)
                continue
            try:
                response = core.post("/api/v1/exchange/records", json={
                    "record_id": str(row.id), "record_type": row.record_type,
                    "payload": payload})
            except httpx.HTTPError as exc:
                row.last_error = f"core unreachable: {exc}"
                break  # commit what was delivered; retry the rest on the next pass
            if response.status_code == 422:
                _reject(row, response.json().get("detail", response.text), moved)
                continue
            if response.status_code != 200:
                row.last_error = f"core answered {response.status_code}"
                break
            outcome = response.json()["outcome"]
            row.delivered_at, row.last_error = utcnow(), ""
            session.add(Crossing(direction="in", record_id=row.id, record_type=row.record_type,
                                 sha256=digest))
            moved.add("in", row.record_type, outcome)
    return moved


def _reject(row: Outbox, reason: str, moved: Moved) -> None:
    row.rejected_at, row.last_error = utcnow(), reason[:2000]
    moved.add("in", row.record_type, "rejected")
    log.error("record rejected", extra={"record_id": str(row.id), "type": row.record_type,
                                        "reason": reason})


def pull_outward(portal: Engine, core: httpx.Client, batch: int) -> Moved:
    moved = Moved()
    with transaction(portal) as session:
        cursor = session.get(GatewayCursor, CURSOR, with_for_update=True)
        if cursor is None:
            cursor = GatewayCursor(name=CURSOR, value=0)
            session.add(cursor)
        try:
            response = core.get("/api/v1/exchange/outbound",
                                params={"after": cursor.value, "limit": batch})
        except httpx.HTTPError as exc:
            raise CoreUnavailable(str(exc)) from exc
        if response.status_code != 200:
            raise CoreUnavailable(f"core answered {response.status_code}")
        for rec in response.json()["records"]:
            record_id = uuid.UUID(rec["record_id"])
            try:
                record = parse_record("outward", rec["record_type"], rec["payload"])
                digest = _digest(rec["payload"])
            except RecordRejected as exc:
                # Never skip past it: hold the cursor here so nothing is lost; alert instead.
                log.error("outbound record invalid; holding", extra={"seq": rec["seq"],
                                                                     "reason": str(exc)})
                moved.add("out", rec["record_type"], "invalid")
                break
            if session.get(Inbox, record_id) is None:
                _apply_outward(session, record)
                session.add(Inbox(record_id=record_id, record_type=rec["record_type"]))
                session.add(Crossing(direction="out", record_id=record_id,
                                     record_type=rec["record_type"], sha256=digest))
                moved.add("out", rec["record_type"], "applied")
            else:
                moved.add("out", rec["record_type"], "duplicate")
            cursor.value = rec["seq"]
    return moved


def _apply_outward(session: Session, record: Record) -> None:
    if isinstance(record, CaseStatus):
        application = session.scalars(select(Application).where(
            Application.receipt == record.receipt).with_for_update()).first()
        if application is None or record.status_seq <= application.status_seq:
            return  # not ours, or older than what the portal already shows
        application.status, application.status_seq = record.status, record.status_seq
        # The only text of a status: what staff wrote for the applicant.
        application.status_comment, application.decision = (record.applicant_note,
                                                             record.decision)
        application.due_on, application.overdue = record.due_on, record.overdue
        application.updated_at = utcnow()
    elif isinstance(record, CatalogueItem):
        entry = session.get(CatalogueEntry, record.code)
        if record.status == "retired":
            if entry is not None and entry.version == record.version:
                session.delete(entry)
            return
        if entry is None:
            entry = CatalogueEntry(code=record.code)
            session.add(entry)
        entry.version, entry.doc = record.version, record.doc
        entry.name, entry.category = str(record.doc["name"]), str(record.doc["category"])
        entry.department = str(record.doc["department"])
        entry.department_name, entry.updated_at = record.department_name, utcnow()
    elif isinstance(record, PenaltyDisclosure):
        _disclose(session, record)


def _disclose(session: Session, record: PenaltyDisclosure) -> None:
    """Keep the latest disclosure of each case (a later one, e.g. with the decision number
    allocated, replaces it); the fields are the whitelisted record's, de-identified."""
    entry = session.get(PenaltyDisclosureEntry, record.case_id, with_for_update=True)
    if entry is None:
        entry = PenaltyDisclosureEntry(case_id=record.case_id)
        session.add(entry)
    for name in type(record).model_fields:
        if name != "case_id":
            setattr(entry, name, getattr(record, name))
    entry.updated_at = utcnow()


def pending(portal: Engine) -> int:
    from sunlight.runtime.portal.service import pending_outbox

    with transaction(portal) as session:
        return pending_outbox(session)
