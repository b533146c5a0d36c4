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
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
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
    """A staff account: argon2 hash, staff roles, department scope; an officer's certificate."""

    __tablename__ = "accounts"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSONB)
    department: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # 执法证号 of an officer account: the one certificate it acts under (core_0006); unique.
    certificate: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Carried in every token as ``ver``; raised when the account is disabled or its roles
    # change, so tokens issued before are refused at once (core_0011).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # An admin's TOTP secret (base32), set by ``sunlight accounts totp``; sign-in then needs
    # the current code (core_0011).
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A supervisor's departments (codes of this site), or ``["all"]`` for the whole site;
    # NULL for every other role (core_0013). Carried in its tokens as ``covers``.
    covers: Mapped[list[str] | None] = mapped_column(JSONB, nullable=True)

    __table_args__ = (Index("uq_accounts_certificate", "certificate", unique=True,
                            postgresql_where=sql_text("certificate IS NOT NULL")),)


class SigninThrottle(CoreBase):
    """Sign-in failures per account (``account:NAME``) and per client address
    (``client:ADDRESS``): the count since the last quiet window and the lock it earned
    (core_0011). In the database so that every worker of core sees the same lock."""

    __tablename__ = "signin_throttle"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(_TS, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(_TS, nullable=True)


class StaffSession(CoreBase):
    """A staff member signed in to the pages (core_0015): the SHA-256 of the random id the
    browser holds (never the id itself), the account and the ``token_version`` it had at
    sign-in (disabling the account or changing its roles ends the session), the CSRF token
    of its forms, and when it started and was last used (idle sessions end:
    :mod:`sunlight.runtime.core.staff_sessions`)."""

    __tablename__ = "staff_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("accounts.username"), index=True)
    token_version: Mapped[int] = mapped_column(Integer)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(_TS)
    last_seen_at: Mapped[datetime] = mapped_column(_TS, index=True)


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


class CaseDocument(CoreBase):
    """The decision document of a decided case (准予 / 不予行政许可决定书, core_0016): its
    number, the PDF and its SHA-256 (:mod:`sunlight.runtime.core.licence_decision`).
    ``content`` is loaded only when read."""

    __tablename__ = "case_documents"
    __table_args__ = (UniqueConstraint("department", "kind", "year", "serial",
                                       name="uq_case_documents_serial"),
                      UniqueConstraint("number", name="uq_case_documents_number"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # granted | denied
    department: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(_TS)


class CaseDocumentCounter(CoreBase):
    """The last serial given to a department's licensing decisions of one kind in a year."""

    __tablename__ = "case_document_counters"
    department: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


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


class ExchangeMaterial(CoreBase):
    """A material the gateway sent ahead of its application (migration ``core_0010``), kept
    by the portal's material id and checked against its sha256; moved into
    :class:`CaseMaterial` when the application that references it is applied."""

    __tablename__ = "exchange_materials"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
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
    """A 督办 order: at the issuer (status follows the answer), at the addressed site, and
    (``escalated_from`` set) at the parent an overdue order escalated to (migration
    ``core_0004``).

    ``target`` is the addressed site: a lower site's case (``receipt``), or this site's own
    department (``department``, with or without a receipt). ``status`` is one of
    :class:`sunlight.supervision.orders.OrderStatus`; a returned answer reopens the order
    (``returns`` counts them, ``review_note`` holds the reason). ``history`` lists every
    step as ``{"at", "by", "action", "text"}``. ``rule_id`` marks an automatic order (one per
    case and rule).
    """

    __tablename__ = "supervision_orders"
    # The partial unique index on automatic orders is declared in .inspection_models.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(6), index=True)
    target: Mapped[str] = mapped_column(String(6), index=True)
    receipt: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    department: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(_TS)
    status: Mapped[str] = mapped_column(String(12), default="open")
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    rule_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    returns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
    escalated_to: Mapped[str | None] = mapped_column(String(6), nullable=True)
    escalated_from: Mapped[str | None] = mapped_column(String(6), index=True, nullable=True)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list,
                                                          server_default="[]")


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


# E-supervision lights (migration core_0003): the rules in force, each case's light and its
# history, subordinates' lights at an ancestor, and versioned data files published above.


class SupervisionRuleSet(CoreBase):
    """One imported version of the site's supervision rules (电子监察规则), kept verbatim.

    ``revision`` numbers the imports at this site; ``version`` is the file's own. Exactly one
    row is ``in_force`` once a file was imported (none: the shipped defaults are in force).
    """

    __tablename__ = "supervision_rule_sets"
    __table_args__ = (Index("uq_supervision_rule_sets_in_force", "in_force", unique=True,
                            postgresql_where=sql_text("in_force")),)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(200))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(_TS)
    in_force: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseLight(CoreBase):
    """A case's current light (``none``, ``yellow`` 预警, ``red`` 报警) and the rules that fired.

    ``hits`` holds each fired rule as ``{"rule_id", "light", "text", "detail"}``;
    ``changes`` counts the changes so far (the order of the light events sent up);
    ``auto_ordered`` the rules whose automatic 督办 order was already issued for this case.
    """

    __tablename__ = "case_lights"
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    light: Mapped[str] = mapped_column(String(8), index=True)
    rule_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    rules_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    auto_ordered: Mapped[list[str]] = mapped_column(JSONB, default=list)
    changed_at: Mapped[datetime] = mapped_column(_TS)
    # The last evaluation that changed anything stored here (light, rules or their details).
    updated_at: Mapped[datetime] = mapped_column(_TS)


class CaseLightChange(CoreBase):
    """One change of a case's light: from, to, the rules that fired, when, and what caused it
    (an action of the case, ``tick`` for time alone)."""

    __tablename__ = "case_light_history"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    change: Mapped[int] = mapped_column(Integer)
    from_light: Mapped[str | None] = mapped_column(String(8), nullable=True)
    to_light: Mapped[str] = mapped_column(String(8))
    rule_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    trigger: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(_TS)


class SubordinateLight(CoreBase):
    """The latest light of a case at a subordinate site (``sunlight.case.light``)."""

    __tablename__ = "subordinate_lights"
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    receipt: Mapped[str] = mapped_column(String(40), primary_key=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    light: Mapped[str] = mapped_column(String(8), index=True)
    rule_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    change: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class DataBaseline(CoreBase):
    """A versioned data file published by a site above as a baseline for its subordinates
    (``kind``: ``supervision_rules``; later score weights, the holiday calendar), verbatim."""

    __tablename__ = "data_baselines"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(6), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
