"""Tables of the portal database (external zone).

The portal never talks to core: the gateway reads :class:`Outbox` and writes
:class:`Inbox` plus application status and decision documents
(:class:`DecisionDocumentEntry`), the catalogue and the penalty decisions disclosed
(:class:`PenaltyDisclosureEntry`). :class:`Crossing` records every record the gateway
moved, so the portal side keeps its own trace of what crossed the zones.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sunlight.runtime.db import utcnow


class PortalBase(DeclarativeBase):
    pass


class CatalogueEntry(PortalBase):
    """A published power item as the public sees it (delivered by the gateway)."""

    __tablename__ = "catalogue_entries"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    department_name: Mapped[str] = mapped_column(String(100))
    doc: Mapped[dict[str, object]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CatalogueFile(PortalBase):
    """A blank form (格式文书) of a published item, its bytes split out of the item's
    document by the gateway (portal_0007): the guide lists them, the portal serves them."""

    __tablename__ = "catalogue_files"
    item_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    item_version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ReceiptCounter(PortalBase):
    __tablename__ = "receipt_counters"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class Application(PortalBase):
    """An application and the status the public sees.

    A draft is named by ``draft_id`` (opaque, random); ``receipt`` is issued when it is
    submitted (portal_0004), so a draft never submitted takes no receipt number. Drafts not
    submitted within ``Settings.draft_retention_days`` are purged
    (:func:`sunlight.runtime.portal.service.purge_drafts`).
    """

    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_status_created", "status", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    draft_id: Mapped[str] = mapped_column(String(40), unique=True)
    receipt: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    item_code: Mapped[str] = mapped_column(String(40))
    item_version: Mapped[int] = mapped_column(Integer)
    applicant_kind: Mapped[str] = mapped_column(String(12))
    applicant_id: Mapped[str] = mapped_column(String(32))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    form: Mapped[dict[str, object]] = mapped_column(JSONB)
    secret_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="draft")
    status_comment: Mapped[str] = mapped_column(Text, default="")
    status_seq: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    overdue: Mapped[bool] = mapped_column(default=False)
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the retention rule deleted its materials and masked its numbers
    # (:mod:`sunlight.runtime.portal.retention`, portal_0005).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApplicationEvent(PortalBase):
    """One step of an application's history as its applicant sees it (portal_0007): its
    submissions (written by the portal) and each status core sent (written by the gateway),
    with what staff wrote for the applicant, never their internal comments."""

    __tablename__ = "application_events"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DecisionDocumentEntry(PortalBase):
    """An application's decision document (准予 / 不予行政许可决定书) as core issued it
    (portal_0008): written by the gateway from a
    :class:`sunlight.runtime.records.DecisionDocument` whose bytes matched its SHA-256,
    downloaded by the holder of the application's secret. ``content`` loads when read."""

    __tablename__ = "decision_documents"
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"),
                                                      primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(40))
    decided_on: Mapped[date] = mapped_column(Date)
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Material(PortalBase):
    """An uploaded file; ``batch`` is the submission it belongs to (0 first, 1 after 补正...)."""

    __tablename__ = "materials"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    batch: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Complaint(PortalBase):
    __tablename__ = "complaints"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rating(PortalBase):
    __tablename__ = "ratings"
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"),
                                                      primary_key=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Outbox(PortalBase):
    """Records waiting for the gateway to carry them inward; never deleted, only marked."""

    __tablename__ = "outbox"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    record_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Core refused it as invalid (gateways before portal_0003; now such rows are retried
    # and parked): kept (never deleted) for an operator, no longer retried.
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # A crossing that failed is retried at next_attempt_at (backoff), and parked after the
    # gateway's last attempt: kept for an operator, `sunlight gateway parked replay` (portal_0003).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                             nullable=True)
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        Index("ix_outbox_pending", "created_at",
              postgresql_where=delivered_at.is_(None) & rejected_at.is_(None)
              & parked_at.is_(None)),
    )


class Inbox(PortalBase):
    """Ids of records the gateway applied here: a replay is recognised and ignored."""

    __tablename__ = "inbox"
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Crossing(PortalBase):
    """The gateway's trace: one row per record carried across, either way."""

    __tablename__ = "crossings"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[uuid.UUID] = mapped_column(index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ParkedOutward(PortalBase):
    """A record of core's outbound feed the gateway could not accept (it failed the
    whitelist): parked here with the reason so the cursor moves on (portal_0003);
    ``replayed_at`` is set once `sunlight gateway parked replay` applied it."""

    __tablename__ = "gateway_parked"
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    record_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    parked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                         nullable=True)


class GatewayCursor(PortalBase):
    """How far the gateway has read core's outbound feed."""

    __tablename__ = "gateway_cursors"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class PenaltyDisclosureEntry(PortalBase):
    """行政处罚结果公示: one penalty decision as disclosed (de-identified by core, checked by
    the gateway's whitelist, :class:`sunlight.runtime.records.PenaltyDisclosure`); the latest
    record per case (migration ``portal_0002``)."""

    __tablename__ = "penalty_disclosures"
    __table_args__ = (Index("ix_penalty_disclosures_department_decided", "department",
                            "decided_on"),
                      Index("ix_penalty_disclosures_decided", "decided_on"))
    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    department: Mapped[str] = mapped_column(String(40))
    department_name: Mapped[str] = mapped_column(String(100))
    item_code: Mapped[str] = mapped_column(String(40))
    item_name: Mapped[str] = mapped_column(String(200))
    party_kind: Mapped[str] = mapped_column(String(8))
    party_name: Mapped[str] = mapped_column(String(200))
    party_id: Mapped[str] = mapped_column(String(18))
    legal_representative: Mapped[str] = mapped_column(String(100), default="")
    violation: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    penalty: Mapped[str] = mapped_column(String(200))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    decided_on: Mapped[date] = mapped_column(Date)
    publish_by: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
