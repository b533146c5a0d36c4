"""Tables of random inspection (随机督查) and the automatic-order index (migration ``core_0004``).

A draw (``inspection_draws``) is one reproducible sample of a department's cases closed in
a month: the seed, what was asked (``size`` or ``share``), the population's size and digest
(:mod:`sunlight.supervision.sampling`). Each sampled case is a row of
``inspection_samples``; the supervisor's finding is written on that row (``result`` ``ok`` or
``problem``, with ``category`` and ``text``).

The partial unique index ``uq_supervision_orders_auto`` makes automatic 督办 orders
(:func:`sunlight.runtime.core.supervision.auto_order`) one per case and rule at a site.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sunlight.runtime.core.models import SupervisionOrder
from sunlight.runtime.db import CoreBase

_TS = DateTime(timezone=True)

AUTO_ORDER_INDEX = Index(
    "uq_supervision_orders_auto", SupervisionOrder.issuer, SupervisionOrder.target,
    SupervisionOrder.receipt, SupervisionOrder.rule_id, unique=True,
    postgresql_where=SupervisionOrder.rule_id.is_not(None))


class InspectionDraw(CoreBase):
    """One random draw of a department's closed cases of a month."""

    __tablename__ = "inspection_draws"
    __table_args__ = (Index("ix_inspection_draws_month_department", "month", "department"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    month: Mapped[str] = mapped_column(String(7))
    seed: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    share: Mapped[float | None] = mapped_column(Float, nullable=True)
    population: Mapped[int] = mapped_column(Integer)
    population_sha256: Mapped[str] = mapped_column(String(64))
    drawn_by: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(_TS)


class InspectionSample(CoreBase):
    """A sampled case of a draw, and the supervisor's finding on it (once reviewed)."""

    __tablename__ = "inspection_samples"
    draw_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_draws.id"),
                                               primary_key=True)
    receipt: Mapped[str] = mapped_column(String(40), primary_key=True)
    result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(_TS, nullable=True)
