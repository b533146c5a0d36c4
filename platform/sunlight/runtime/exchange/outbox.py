"""The exchange outbox: events leave in the transaction of the change that caused them.

A case transition, a supervision order, an answer or an adoption adds a row here inside
the caller's transaction, so either both the change and its event are stored or neither
is; the publisher (:mod:`sunlight.runtime.exchange.publisher`) sends the rows later, with
confirms, and marks them. A city that forwards a county's event stores the received body
as it came, so the province still sees the county's own signature.

What is enqueued is decided above the transport (core's case transitions, supervision,
baselines, statistics). Every city or county records its case events, whether or not its
upward link is deployed yet: they wait here and leave, from sequence 1, once it is — the
parent's view is then complete from the first event.

Example::

    >>> from sunlight.runtime.exchange.outbox import enqueue
    >>> enqueue(session, "320700", Envelope.new("320703", "sunlight.stats.snapshot",
    ...                                         snapshot))  # doctest: +SKIP
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.models import OutboxRow


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

