"""Core's side of the zone crossing: apply each delivered record once, in one transaction.

Materials cross first, each on its own (:func:`receive_material`: kept by id, checked
against its sha256, a repeat answered "duplicate"); an application record then names them
(:class:`sunlight.runtime.records.MaterialRef`) and :func:`sunlight.runtime.core.cases.receive`
refuses it unless every one has crossed with that size and sha256.

Example::

    >>> outcome = apply_inward(session, "320703", record_id, "feedback.rating",
    ...                        {"receipt": r, "score": 5, "comment": ""})  # doctest: +SKIP
    'applied'
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.core import cases
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import CaseMaterial, ExchangeInbox, ExchangeMaterial, Feedback
from sunlight.runtime.records import (
    ApplicationResubmitted,
    ApplicationSubmitted,
    Complaint,
    RatingRecord,
    RecordRejected,
    parse_record,
)

Outcome = Literal["applied", "duplicate"]


def apply_inward(session: Session, site: str, record_id: uuid.UUID, record_type: str,
                 payload: dict[str, object], now: datetime | None = None) -> Outcome:
    """Apply a record unless its id was seen; RecordRejected leaves nothing behind.
    ``now`` is core's clock (the system clock when not given)."""
    record = parse_record("inward", record_type, payload)
    claimed = session.execute(
        insert(ExchangeInbox).values(record_id=record_id, record_type=record_type)
        .on_conflict_do_nothing(index_elements=[ExchangeInbox.record_id])
        .returning(ExchangeInbox.record_id)
    ).first()
    if claimed is None:
        return "duplicate"
    if isinstance(record, ApplicationSubmitted):
        cases.receive(session, site, record, now)
    elif isinstance(record, ApplicationResubmitted):
        cases.resubmitted(session, site, record, now)
    elif isinstance(record, Complaint | RatingRecord):
        _feedback(session, site, record_id, record)
    else:  # pragma: no cover - the whitelist and this dispatch are kept in step by tests
        raise RecordRejected(f"no handler for {record_type}")
    audit(session, site, actor="gateway", role="gateway", entity="exchange",
          entity_id=str(record_id), action=f"receive {record_type}")
    return "applied"


def _feedback(session: Session, site: str, record_id: uuid.UUID,
              record: Complaint | RatingRecord) -> None:
    if isinstance(record, Complaint):
        session.add(Feedback(id=record_id, receipt=record.receipt, kind="complaint",
                             text=record.text))
    else:
        session.add(Feedback(id=record_id, receipt=record.receipt, kind="rating",
                             score=record.score, text=record.comment))


def receive_material(session: Session, material_id: uuid.UUID, sha256: str,
                     content: bytes) -> Outcome:
    """Keep one material's bytes until its application arrives; a repeat (the gateway
    redelivering after a crash) is "duplicate"; bytes that do not match ``sha256``, or an id
    already kept with other bytes, are RecordRejected."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise RecordRejected(f"material {material_id}: bytes do not match sha256 "
                             f"(got {actual})")
    kept = session.get(ExchangeMaterial, material_id) or session.get(CaseMaterial, material_id)
    if kept is not None:
        if kept.sha256 != sha256:
            raise RecordRejected(f"material {material_id} was received with other bytes")
        return "duplicate"
    session.add(ExchangeMaterial(id=material_id, sha256=sha256, size=len(content),
                                 content=content))
    return "applied"
