"""The exchange outbox: events leave in the transaction of the change that caused them.

A case transition, a supervision order, an answer or an adoption adds a row here inside
the caller's transaction, so either both the change and its event are stored or neither
is; the publisher (:mod:`sunlight.runtime.exchange.publisher`) sends the rows later, with
confirms, and marks them. A city that forwards a county's event stores the received body
as it came, so the province still sees the county's own signature.

Every city or county records its case events, whether or not its upward link is deployed
yet: they wait here and leave, from sequence 1, once it is — the parent's view is then
complete from the first event.

Example::

    >>> from sunlight.runtime.exchange.outbox import case_event
    >>> case_event(session, "320703", case, actor="li", role="clerk", action="accept",
    ...            before="submitted", comment="")  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sunlight.runtime.core.models import Case
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.exchange.schemas import CASE_EVENT
from sunlight.topology.division import expected_parent


def enqueue(session: Session, link: str, envelope: Envelope) -> OutboxRow:
    """Queue this site's ``envelope`` for the neighbour ``link`` (signed when published)."""
    row = OutboxRow(event_id=uuid.UUID(envelope.id), link=link, type=envelope.type,
                    envelope=envelope.to_dict(), body=None)
    session.add(row)
    return row


def forward(session: Session, link: str, event_id: str, type_: str, body: bytes) -> None:
    """Queue a received body, unchanged, for the neighbour ``link``."""
    session.add(OutboxRow(event_id=uuid.UUID(event_id), link=link, type=type_, envelope=None,
                          body=body))


def case_event(session: Session, site: str, case: Case, *, actor: str, role: str, action: str,
               before: str | None, comment: str) -> None:
    """The transition just applied to ``case`` (its ``status_seq`` already advanced)."""
    parent = expected_parent(site)
    if parent is None:  # a province has nobody to report to
        return
    now = datetime.now(UTC)
    data = {
        "receipt": case.receipt, "action": action, "from_status": before,
        "to_status": case.status, "department": case.department, "item_code": case.item_code,
        "item_version": case.item_version, "actor": actor, "role": role,
        "at": now.isoformat(), "due_on": case.due_on.isoformat(), "overdue": case.overdue,
        "decision": case.decision, "comment": comment[:4000],
    }
    enqueue(session, parent, Envelope.new(site, CASE_EVENT, data, subject=case.receipt,
                                          sequence=case.status_seq, time=now))
