"""Core's side of the zone crossing: apply each delivered record once, in one transaction.

Example::

    >>> outcome = apply_inward(session, "320703", record_id, "feedback.rating",
    ...                        {"receipt": r, "score": 5, "comment": ""})  # doctest: +SKIP
    'applied'
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.core import cases
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import ExchangeInbox, Feedback
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
