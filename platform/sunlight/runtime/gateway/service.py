"""The gateway's two directions, each a short transaction on the portal database.

Inward: pending outbox rows → validated as staged (:func:`sunlight.runtime.records.parse_staged`)
→ an application's materials checked against their sha256 and sent to core one per request
(``PUT /api/v1/exchange/materials/ID``, the bytes as the body) → the record, naming them by
id, size and sha256, to core's exchange API → marked delivered (a crash in between
redelivers: core answers "duplicate" to the materials and to the record). Outward: core's
feed after the stored cursor → validated → applied to the portal DB with an inbox row →
cursor advanced, all in one transaction (case status, decided cases' decision documents,
catalogue items, and penalty decisions disclosed to the public). A decision document's PDF
crosses inside its record: it is applied only if its bytes match the SHA-256 core recorded
and fit the site's material size limit (``material_max_bytes``); otherwise it is parked.
Every record carried is written to :class:`Crossing`, with the sha256 of its canonical JSON
(RFC 8785, :func:`sunlight.canonical.canonical_json`).

Poison rows never hold the others. An inward row the gateway cannot deliver — it fails
validation, or core refuses it (4xx) or fails on it (500) — is retried after a backoff
(:func:`backoff`: base, 2·base, 4·base ... up to a cap) while the rows behind it move on, and
is *parked* after the last attempt (:class:`Retry`), kept with its last error. Core being
unreachable or overloaded (no answer, 401/403/429, 502–504) charges no row: the pass stops
and the next one retries. An outward record that fails the whitelist is parked in
:class:`ParkedOutward` with the reason and the cursor moves past it. Parked records are
counted (:func:`parked_counts`, the gauge ``sunlight_gateway_parked``), listed and replayed
by ``sunlight gateway parked list|replay ID`` (:func:`parked`, :func:`replay`).

Example::

    >>> moved = push_inward(portal_engine, core_client, batch=50)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Engine, delete, func, or_, select
from sqlalchemy.orm import Session

from sunlight.canonical import CanonicalError, canonical_json
from sunlight.runtime.db import transaction, utcnow
from sunlight.runtime.portal.models import (
    Application,
    ApplicationEvent,
    CatalogueEntry,
    CatalogueFile,
    Crossing,
    DecisionDocumentEntry,
    GatewayCursor,
    Inbox,
    Material,
    Outbox,
    ParkedOutward,
    PenaltyDisclosureEntry,
)
from sunlight.runtime.records import (
    CaseStatus,
    CatalogueItem,
    DecisionDocument,
    MaterialRef,
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


def _material(session: Session, row: Outbox, ref: uuid.UUID) -> Material:
    m = session.get(Material, ref)
    if m is None:
        raise RecordRejected(f"material {ref} of {row.id} is missing")
    if hashlib.sha256(m.content).hexdigest() != m.sha256:
        raise RecordRejected(f"material {m.id}: stored bytes do not match sha256")
    return m


def _ref(m: Material) -> MaterialRef:
    return MaterialRef.build(id=m.id, name=m.name, filename=m.filename,
                             content_type=m.content_type, size=m.size, sha256=m.sha256)


def _expand(session: Session, row: Outbox) -> tuple[Record, list[Material]]:
    """The record as it crosses (validated as staged, material ids replaced by references)
    and the materials to send ahead of it, their stored bytes checked."""
    staged = parse_staged(row.record_type, row.payload)
    if isinstance(staged, StagedApplicationSubmitted | StagedApplicationResubmitted):
        materials = [_material(session, row, ref) for ref in staged.materials]
        return staged.with_materials([_ref(m) for m in materials]), materials
    return staged, []


@dataclass(frozen=True)
class Retry:
    """How an undeliverable inward row is retried: after ``base_s`` seconds, doubling up to
    ``max_s``, and parked once it has failed ``park_after`` attempts."""

    base_s: float = 5.0
    max_s: float = 600.0
    park_after: int = 8


def backoff(attempts: int, retry: Retry) -> float:
    """Seconds before the next attempt of a row that has failed ``attempts`` times."""
    return float(min(retry.max_s, retry.base_s * 2 ** max(attempts - 1, 0)))


#: Core's answers that say core (not the row) is unwell or refuses the gateway itself: the
#: pass stops and no row is charged an attempt.
CORE_UNAVAILABLE = {401, 403, 408, 429, 502, 503, 504}


def _due(now: datetime) -> ColumnElement[bool]:
    return (Outbox.delivered_at.is_(None) & Outbox.rejected_at.is_(None)
            & Outbox.parked_at.is_(None)
            & or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now))


def push_inward(portal: Engine, core: httpx.Client, batch: int,
                retry: Retry | None = None) -> Moved:
    moved = Moved()
    with transaction(portal) as session:
        now = utcnow()
        rows = session.scalars(
            select(Outbox).where(_due(now))
            .order_by(Outbox.created_at).limit(batch).with_for_update(skip_locked=True))
        carry_rows(session, list(rows), core, retry or Retry(), now, moved)
    return moved


def carry_rows(session: Session, rows: list[Outbox], core: httpx.Client, retry: Retry,
               now: datetime, moved: Moved) -> None:
    """Deliver ``rows`` in order, an application's materials one by one ahead of it; a row
    that fails is charged (:func:`_fail`) and the next one goes on; the pass stops when core
    is unreachable or unwell."""
    for row in rows:
        try:
            record, materials = _expand(session, row)
            payload = record.payload()
            digest = _digest(payload)
        except RecordRejected as exc:
            _fail(row, str(exc), moved, retry, now)
            continue
        sends: list[tuple[str, Callable[[], httpx.Response]]] = [
            (f"material {m.id}: ", partial(_send_material, core, m)) for m in materials]
        sends.append(("", partial(core.post, "/api/v1/exchange/records", json={
            "record_id": str(row.id), "record_type": row.record_type, "payload": payload})))
        verdict, reason, response = _deliver(sends)
        if verdict == "unavailable":
            row.last_error = reason
            break  # commit what was delivered; retry the rest on the next pass
        if verdict in ("refused", "failed"):
            _fail(row, reason, moved, retry, now)
            if verdict == "failed":
                break  # core failed on this row: the others wait for the next pass
            continue
        assert response is not None
        outcome = response.json()["outcome"]
        row.attempts += 1
        row.delivered_at, row.last_error, row.next_attempt_at = utcnow(), "", None
        session.add(Crossing(direction="in", record_id=row.id, record_type=row.record_type,
                             sha256=digest))
        moved.add("in", row.record_type, outcome)


def _send_material(core: httpx.Client, m: Material) -> httpx.Response:
    return core.put(f"/api/v1/exchange/materials/{m.id}", params={"sha256": m.sha256},
                    content=m.content, headers={"Content-Type": "application/octet-stream"})


def _deliver(sends: list[tuple[str, Callable[[], httpx.Response]]]
             ) -> tuple[str, str, httpx.Response | None]:
    """Send each request in order, stopping at the first that fails: ("ok", "", the last
    response), or ("unavailable" | "refused" | "failed", the reason, None)."""
    response = None
    for what, send in sends:
        try:
            response = send()
        except httpx.HTTPError as exc:
            return "unavailable", f"core unreachable: {exc}", None
        status = response.status_code
        if status in CORE_UNAVAILABLE:
            return "unavailable", f"core answered {status}", None
        if status != 200:
            return ("failed" if status >= 500 else "refused",
                    f"{what}core answered {status}: {_detail(response)}", None)
    return "ok", "", response


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:500]


def _fail(row: Outbox, reason: str, moved: Moved, retry: Retry, now: datetime) -> None:
    """Charge ``row`` one failed attempt: retry it after the backoff, or park it."""
    row.attempts += 1
    row.last_error = reason[:2000]
    extra = {"record_id": str(row.id), "type": row.record_type, "attempts": row.attempts,
             "reason": reason}
    if row.attempts >= retry.park_after:
        row.parked_at, row.next_attempt_at = now, None
        moved.add("in", row.record_type, "parked")
        log.error("record parked", extra=extra)
    else:
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, retry))
        moved.add("in", row.record_type, "retry")
        log.warning("record not delivered; will retry", extra=extra)


#: The largest decision document applied when the caller names no limit (the default
#: ``Settings.material_max_bytes``).
DEFAULT_DOCUMENT_MAX_BYTES = 10 * 2**20


def pull_outward(portal: Engine, core: httpx.Client, batch: int,
                 max_document_bytes: int = DEFAULT_DOCUMENT_MAX_BYTES) -> Moved:
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
        take_records(session, cursor, response.json()["records"], moved,
                     max_document_bytes=max_document_bytes)
    return moved


def take_records(session: Session, cursor: GatewayCursor, records: list[dict[str, Any]],
                 moved: Moved, *, max_document_bytes: int = DEFAULT_DOCUMENT_MAX_BYTES) -> None:
    """Apply core's feed records in order, each once, advancing ``cursor``; a record that
    fails the whitelist (or a decision document over ``max_document_bytes``) is parked
    (:class:`ParkedOutward`) and passed."""
    for rec in records:
        record_id = uuid.UUID(rec["record_id"])
        try:
            record = parse_record("outward", rec["record_type"], rec["payload"])
            if isinstance(record, DecisionDocument) and record.size > max_document_bytes:
                raise RecordRejected(f"case.document: {record.size} bytes, over the material "
                                     f"size limit of {max_document_bytes} bytes")
            digest = _digest(rec["payload"])
        except RecordRejected as exc:
            # Never hold the cursor on it: park it with the reason (nothing is lost, an
            # operator replays it) and carry the records behind it.
            _park_outward(session, rec, record_id, str(exc))
            moved.add("out", rec["record_type"], "parked")
            cursor.value = rec["seq"]
            continue
        if session.get(Inbox, record_id) is None:
            _apply_outward(session, record)
            session.add(Inbox(record_id=record_id, record_type=rec["record_type"]))
            session.add(Crossing(direction="out", record_id=record_id,
                                 record_type=rec["record_type"], sha256=digest))
            moved.add("out", rec["record_type"], "applied")
        else:
            moved.add("out", rec["record_type"], "duplicate")
        cursor.value = rec["seq"]


def _park_outward(session: Session, rec: dict[str, Any], record_id: uuid.UUID,
                  reason: str) -> None:
    log.error("outbound record invalid; parked", extra={"seq": rec["seq"],
                                                        "record_id": str(record_id),
                                                        "reason": reason})
    if session.get(ParkedOutward, record_id) is not None:
        return
    payload = rec["payload"]
    session.add(ParkedOutward(record_id=record_id, seq=int(str(rec["seq"])),
                              record_type=str(rec["record_type"])[:40],
                              payload=payload if isinstance(payload, dict) else {"": payload},
                              reason=reason[:2000]))


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
        # The applicant's history: the status and what staff wrote for them.
        session.add(ApplicationEvent(application_id=application.id, status=record.status,
                                     note=record.applicant_note, at=application.updated_at))
    elif isinstance(record, CatalogueItem):
        _publish(session, record)
    elif isinstance(record, PenaltyDisclosure):
        _disclose(session, record)
    elif isinstance(record, DecisionDocument):
        _keep_document(session, record)


def _keep_document(session: Session, record: DecisionDocument) -> None:
    """Store the decision document with its application (the record's bytes were checked
    against its size and SHA-256 when it was parsed; checked once more here, as stored).
    A document for an application the portal does not have is not ours and is dropped."""
    application = session.scalars(select(Application).where(
        Application.receipt == record.receipt)).first()
    if application is None:
        return
    if hashlib.sha256(record.content).hexdigest() != record.sha256:  # pragma: no cover
        raise RecordRejected(f"case.document {record.number}: bytes do not match sha256")
    entry = session.get(DecisionDocumentEntry, application.id, with_for_update=True)
    if entry is None:
        entry = DecisionDocumentEntry(application_id=application.id)
        session.add(entry)
    entry.kind, entry.title, entry.number = record.kind, record.title, record.number
    entry.decided_on, entry.media_type = record.decided_on, record.media_type
    entry.size, entry.sha256, entry.content = record.size, record.sha256, record.content
    entry.received_at = utcnow()


def _publish(session: Session, record: CatalogueItem) -> None:
    """A published version replaces the item's entry and its blank forms; a retired one
    takes them away (only if it is the version shown). The forms' bytes go to
    ``catalogue_files``; the entry's document lists them by name, type, size and sha256."""
    entry = session.get(CatalogueEntry, record.code)
    if record.status == "retired":
        if entry is not None and entry.version == record.version:
            session.delete(entry)
            session.execute(delete(CatalogueFile).where(CatalogueFile.item_code == record.code))
        return
    forms = record.guide().blank_forms
    session.execute(delete(CatalogueFile).where(CatalogueFile.item_code == record.code))
    if entry is None:
        entry = CatalogueEntry(code=record.code)
        session.add(entry)
    listed = []
    for position, form in enumerate(forms):
        digest = hashlib.sha256(form.content).hexdigest()
        session.add(CatalogueFile(item_code=record.code, position=position,
                                  item_version=record.version, name=form.name,
                                  filename=form.filename, content_type=form.content_type,
                                  size=len(form.content), sha256=digest, content=form.content))
        listed.append({"name": form.name, "filename": form.filename,
                       "content_type": form.content_type, "size": len(form.content),
                       "sha256": digest})
    entry.version, entry.doc = record.version, {**record.doc, "blank_forms": listed}
    entry.name, entry.category = str(record.doc["name"]), str(record.doc["category"])
    entry.department = str(record.doc["department"])
    entry.department_name, entry.updated_at = record.department_name, utcnow()


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


def parked_counts(portal: Engine) -> dict[str, int]:
    """Parked records not yet replayed, by direction ("in", "out")."""
    with transaction(portal) as session:
        inward = session.execute(select(func.count()).select_from(Outbox)
                                 .where(Outbox.parked_at.is_not(None))).scalar_one()
        outward = session.execute(select(func.count()).select_from(ParkedOutward)
                                  .where(ParkedOutward.replayed_at.is_(None))).scalar_one()
    return {"in": int(inward), "out": int(outward)}


@dataclass(frozen=True)
class Parked:
    """One parked record, as ``sunlight gateway parked list`` shows it."""

    direction: str
    id: str
    record_type: str
    attempts: int
    parked_at: datetime
    reason: str


def parked(portal: Engine) -> list[Parked]:
    """Parked records not yet replayed, oldest first."""
    with transaction(portal) as session:
        inward = [Parked("in", str(r.id), r.record_type, r.attempts, r.parked_at, r.last_error)
                  for r in session.scalars(select(Outbox).where(Outbox.parked_at.is_not(None)))
                  if r.parked_at is not None]
        outward = [Parked("out", str(r.record_id), r.record_type, 1, r.parked_at, r.reason)
                   for r in session.scalars(select(ParkedOutward)
                                            .where(ParkedOutward.replayed_at.is_(None)))]
    return sorted(inward + outward, key=lambda p: p.parked_at)


class NotParked(LookupError):
    """No parked record has that id."""


def replay(portal: Engine, record_id: uuid.UUID) -> str:
    """Replay one parked record; return what happened.

    Inward: the row is unparked with its attempts reset, and the next pass tries it again.
    Outward: the stored record is validated again (the whitelist may have been corrected)
    and applied once; :class:`RecordRejected` if it still fails, and it stays parked.
    """
    with transaction(portal) as session:
        row = session.get(Outbox, record_id, with_for_update=True)
        if row is not None and row.parked_at is not None:
            row.parked_at, row.next_attempt_at, row.attempts = None, None, 0
            log.warning("parked record replayed", extra={"record_id": str(record_id),
                                                         "direction": "in"})
            return f"inward {row.record_type} {record_id} queued again"
        parked_out = session.get(ParkedOutward, record_id, with_for_update=True)
        if parked_out is None or parked_out.replayed_at is not None:
            raise NotParked(f"no parked record {record_id}")
        record = parse_record("outward", parked_out.record_type, parked_out.payload)
        digest = _digest(parked_out.payload)
        if session.get(Inbox, record_id) is None:
            _apply_outward(session, record)
            session.add(Inbox(record_id=record_id, record_type=parked_out.record_type))
            session.add(Crossing(direction="out", record_id=record_id,
                                 record_type=parked_out.record_type, sha256=digest))
        parked_out.replayed_at = utcnow()
        log.warning("parked record replayed", extra={"record_id": str(record_id),
                                                     "direction": "out"})
        return f"outward {parked_out.record_type} {record_id} applied"
