"""Tables of legal supervision (法制监督) in the core database (migration ``core_0008``).

``enforcement_refusals`` counts the steps of enforcement cases the flow refused as outside
the discretion band or by an officer not qualified: the case itself stores nothing of a
refused step, so this row is written in a transaction of its own
(:func:`sunlight.runtime.core.refusals.count_refusal`). ``case_id`` is deliberately not a
foreign key: the refused step holds the case row ``FOR UPDATE`` while the refusal is
written from another connection, and a key check would wait on that lock.

``enforcement_challenges`` holds the 行政复议 and 行政诉讼 recorded against a decided case
(:mod:`sunlight.enforcement.review`): filed first, the outcome later.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sunlight.runtime.db import CoreBase

_TS = DateTime(timezone=True)


class EnforcementRefusal(CoreBase):
    """One refused attempt legal supervision counts (out of band, unqualified officer)."""

    __tablename__ = "enforcement_refusals"
    __table_args__ = (Index("ix_enforcement_refusals_month_department", "month",
                            "department"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(6))
    department: Mapped[str] = mapped_column(String(40))
    item_code: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    code: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(16))
    field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    month: Mapped[str] = mapped_column(String(7))
    refused_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    refused_at: Mapped[datetime] = mapped_column(_TS)


class EnforcementChallenge(CoreBase):
    """A 行政复议 or 行政诉讼 against an enforcement case's decision, and its outcome."""

    __tablename__ = "enforcement_challenges"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enforcement_cases.id"), index=True)
    site: Mapped[str] = mapped_column(String(6))
    department: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    filed_on: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(String(200))
    filed_by: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(_TS)
    updated_at: Mapped[datetime] = mapped_column(_TS)
