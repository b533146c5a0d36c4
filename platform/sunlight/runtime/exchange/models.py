"""Tables of the exchange transport in the core database (migration ``core_0002``).

- ``exchange_outbox``: what waits to leave, written in the transaction of the change
  (unsigned envelopes of this site, or received bodies it forwards unchanged);
- ``exchange_event_inbox``: ids of events accepted, so a redelivery or replay is ignored;
- ``exchange_held_events``: sequenced events that arrived before their predecessor, held
  by the handler that applies them (:mod:`sunlight.runtime.core.subordinates`);
- ``exchange_dead_letters``: events refused, with the reason — never applied.

The same migration creates core's cross-tier tables (subordinate views, supervision orders,
baselines): :mod:`sunlight.runtime.core.models`. Both sit on :class:`sunlight.runtime.db.CoreBase`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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

from sunlight.runtime.db import CoreBase, utcnow

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
