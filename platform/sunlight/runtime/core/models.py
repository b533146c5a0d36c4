"""Tables of the core database (internal zone).

Core's own tables, then its cross-tier ones (migration ``core_0002``): the parent's
per-subordinate view (``subordinate_cases``, ``subordinate_case_events``,
``subordinate_stats``), supervision orders (督办) and catalogue baselines with their
adoptions, on both sides. The exchange transport's tables sit on the same
:class:`~sunlight.runtime.db.CoreBase`, in :mod:`sunlight.runtime.exchange.models`.
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
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sunlight.runtime.db import CoreBase, utcnow

_TS = DateTime(timezone=True)


class Department(CoreBase):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Item(CoreBase):
    """One version of a power item; ``doc`` is the catalogue model as JSON."""

    __tablename__ = "items"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    doc: Mapped[dict[str, object]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Account(CoreBase):
    """A staff account: argon2 hash, staff roles, department scope."""

    __tablename__ = "accounts"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSONB)
    department: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Case(CoreBase):
    __tablename__ = "cases"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    receipt: Mapped[str] = mapped_column(String(40), unique=True)
    item_code: Mapped[str] = mapped_column(String(40))
    item_version: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(40), index=True)
    applicant_kind: Mapped[str] = mapped_column(String(12))
    applicant_id: Mapped[str] = mapped_column(String(32))
    applicant_name: Mapped[str] = mapped_column(String(200))
    form: Mapped[dict[str, object]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(32), index=True)
    step_index: Mapped[int] = mapped_column(SmallInteger, default=0)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    resume_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resume_step_index: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    limit_days: Mapped[int] = mapped_column(SmallInteger)
    # Clock stops (补正, suspension) as [[start, end-or-null], ...] ISO dates.
    paused: Mapped[list[list[str | None]]] = mapped_column(JSONB, default=list)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    overdue: Mapped[bool] = mapped_column(default=False, index=True)
    status_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseMaterial(CoreBase):
    __tablename__ = "case_materials"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    batch: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CaseEvent(CoreBase):
    """A case's history as staff and applicants see it (the audit log is the proof)."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")


class Feedback(CoreBase):
    """Complaints (投诉) and ratings (满意度) carried in from the portal."""

    __tablename__ = "feedback"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    receipt: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    score: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExchangeInbox(CoreBase):
    """Ids of records delivered by the gateway: a redelivery is acknowledged, not re-applied."""

    __tablename__ = "exchange_inbox"
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Outbound(CoreBase):
    """The feed the gateway reads outward (status, results, published catalogue)."""

    __tablename__ = "outbound"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    record_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    record_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(CoreBase):
    """The site's hash chain (网上留痕): every transition and administrative change."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    site: Mapped[str] = mapped_column(String(6))
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# Cross-tier (migration core_0002).


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
