"""Periodic statistics for the parent: open and closed cases per department and status.

Registered with the exchange (:mod:`sunlight.runtime.core.cross_tier`), whose service sends
a snapshot up every ``SUNLIGHT_EXCHANGE_STATS_INTERVAL_S``.

Example::

    >>> snapshot(session)["overdue_open"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sunlight.runtime.core.cases import OPEN_STATUSES
from sunlight.runtime.core.models import Case


def snapshot(session: Session) -> dict[str, Any]:
    """Counts per (department, status) and the number of open overdue cases, now."""
    rows = session.execute(select(Case.department, Case.status, func.count())
                           .group_by(Case.department, Case.status)
                           .order_by(Case.department, Case.status))
    overdue = session.scalar(select(func.count()).select_from(Case).where(
        Case.overdue.is_(True), Case.status.in_(OPEN_STATUSES))) or 0
    return {"as_of": datetime.now(UTC).isoformat(), "overdue_open": int(overdue),
            "counts": [{"department": d, "status": s, "count": int(n)} for d, s, n in rows]}
