"""Tables of the exchange in the core database (migration ``core_0002``).

- ``exchange_outbox``: what waits to leave, written in the transaction of the change
  (unsigned envelopes of this site, or received bodies it forwards unchanged);
- ``exchange_event_inbox``: ids of events accepted, so a redelivery or replay is ignored;
- ``exchange_held_events``: case events that arrived before their predecessor;
- ``exchange_dead_letters``: events refused, with the reason — never applied;
- the parent's per-subordinate view: ``subordinate_cases``, ``subordinate_case_events``,
  ``subordinate_stats``;
- supervision orders (督办) and catalogue baselines with their adoptions, on both sides.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sunlight.runtime.core.models import CoreBase
from sunlight.runtime.db import utcnow

_TS = DateTime(timezone=True)


class OutboxRow(CoreBase):
    """One event waiting for (or done with) the publisher; ``link`` is the neighbour."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (Index("ix_exchange_outbox_pending", "seq",
                            postgresql_where=text("published_at IS NULL")),
                      Index("ix_exchange_outbox_link_published", "link", "published_at"))
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    link: Mapped[str] = mapped_column(String(6))
    type: Mapped[str] = mapped_column(String(80))
    # This site's events: the unsigned envelope (signed when published; Ed25519 is
    # deterministic, so a retry sends the same bytes). Forwarded events: the received body.
    envelope: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class InboxEvent(CoreBase):
    __tablename__ = "exchange_event_inbox"
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(6), index=True)
    type: Mapped[str] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(6))
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class HeldEvent(CoreBase):
    __tablename__ = "exchange_held_events"
    __table_args__ = (UniqueConstraint("source", "receipt", "seq"),)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(6))
    receipt: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    held_since: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    reported: Mapped[bool] = mapped_column(Boolean, default=False)


class DeadLetter(CoreBase):
    __tablename__ = "exchange_dead_letters"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    queue: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    # What the body claims (unverified), to find the sender.
    claimed_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    claimed_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_type: Mapped[str | None] = mapped_column(String(80), nullable=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class SubordinateCase(CoreBase):
    """The latest applied state of a case at a subordinate site."""

    __tablename__ = "subordinate_cases"
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    receipt: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    department: Mapped[str | None] = mapped_column(String(40), nullable=True)
    item_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class SubordinateCaseEvent(CoreBase):
    __tablename__ = "subordinate_case_events"
    __table_args__ = (UniqueConstraint("source", "receipt", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(6))
    receipt: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(_TS)
    applied_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class SubordinateStats(CoreBase):
    """The newest statistics snapshot of each subordinate site."""

    __tablename__ = "subordinate_stats"
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    as_of: Mapped[datetime] = mapped_column(_TS)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class SupervisionOrder(CoreBase):
    """A 督办 order: at the issuer (status follows the answer) and at the addressed site."""

    __tablename__ = "supervision_orders"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(6), index=True)
    target: Mapped[str] = mapped_column(String(6), index=True)
    receipt: Mapped[str] = mapped_column(String(40), index=True)
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(_TS)
    status: Mapped[str] = mapped_column(String(12), default="open")
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)


class CatalogueBaseline(CoreBase):
    __tablename__ = "catalogue_baselines"
    issuer: Mapped[str] = mapped_column(String(6), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    published_at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)


class BaselineAdoption(CoreBase):
    """A site's decision on a baseline: its own (at that site) or reported up (above)."""

    __tablename__ = "baseline_adoptions"
    site: Mapped[str] = mapped_column(String(6), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(6), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision: Mapped[str] = mapped_column(String(12))
    localized: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
