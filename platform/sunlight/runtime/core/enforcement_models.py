"""Tables of enforcement (执法办案) in the core database (migrations ``core_0005``, ``core_0007``,
``core_0012``).

``officer_registries`` keeps every imported officer registry (执法人员库) verbatim, with who
imported it and when; exactly one revision is in force (none before the first import: no
officer is qualified). ``enforcement_cases`` holds staff-opened cases (立案): the item
version they run under, the current stage, the party, the records of every step as JSON
(the history :func:`sunlight.enforcement.flow.replay` rebuilds the case from), the band
check of the decision and whether a legal-review override let it stand outside the band.
``decision_number_counters`` holds the last serial of each department's decision numbers per
year, ``enforcement_documents`` the decision document (行政处罚决定书) of each decided penalty
case: its number, the PDF and its SHA-256 (:mod:`sunlight.runtime.core.decision_document`).
``enforcement_evidence`` holds the files of evidence (证据) officers upload to a case, once per
content (SHA-256) and case; the investigate step names them by SHA-256
(:mod:`sunlight.runtime.core.evidence`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sunlight.runtime.db import CoreBase

_TS = DateTime(timezone=True)


class OfficerRegistryRevision(CoreBase):
    """One imported officer registry (the YAML as given); one row is in force."""

    __tablename__ = "officer_registries"
    __table_args__ = (Index("uq_officer_registries_in_force", "in_force", unique=True,
                            postgresql_where=sql_text("in_force")),)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(6))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    officers: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(200))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(_TS)
    in_force: Mapped[bool] = mapped_column(Boolean)


class EnforcementCaseRow(CoreBase):
    """A staff-opened enforcement case and the records of its steps."""

    __tablename__ = "enforcement_cases"
    __table_args__ = (Index("ix_enforcement_cases_department_stage", "department", "stage"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(6))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    item_code: Mapped[str] = mapped_column(String(40), index=True)
    item_version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))
    party_kind: Mapped[str] = mapped_column(String(8))
    party_name: Mapped[str] = mapped_column(String(200))
    party_id_number: Mapped[str] = mapped_column(String(18))
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    band: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    registry_revision: Mapped[int] = mapped_column(Integer)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(_TS)
    updated_at: Mapped[datetime] = mapped_column(_TS)


class DecisionNumberCounter(CoreBase):
    """The last serial given to a department's decision numbers in a year."""

    __tablename__ = "decision_number_counters"
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class DecisionDocumentRow(CoreBase):
    """The decision document (行政处罚决定书) of a decided penalty case: number, PDF, SHA-256.
    ``content`` is loaded only when read."""

    __tablename__ = "enforcement_documents"
    __table_args__ = (UniqueConstraint("department", "year", "serial",
                                       name="uq_enforcement_documents_serial"),
                      UniqueConstraint("number", name="uq_enforcement_documents_number"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enforcement_cases.id"),
                                               primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(_TS)


class EvidenceRow(CoreBase):
    """A file of evidence uploaded to an enforcement case (once per content): what it is,
    who uploaded it under which certificate, and the bytes (``data``, loaded only when read)."""

    __tablename__ = "enforcement_evidence"
    __table_args__ = (UniqueConstraint("case_id", "sha256",
                                       name="uq_enforcement_evidence_case_sha256"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enforcement_cases.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    certificate: Mapped[str] = mapped_column(String(40))
    uploaded_at: Mapped[datetime] = mapped_column(_TS)
