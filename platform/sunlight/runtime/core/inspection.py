"""Random inspection (随机督查) at a site: draw a sample of closed cases, record findings.

A supervisor draws, for one department and one month, a reproducible random sample of the
cases closed (办结) in that month (China time, by the case's ``close`` event): the seed is
recorded with the draw (given, or generated), with the population's size and digest, so the
same seed and population give the same sample (:mod:`sunlight.supervision.sampling`).
Each sampled case then gets a finding: ``ok``, or ``problem`` with a category and a text;
a finding may be revised (each revision audited). :func:`summary` gives per department and
month what the performance evaluation reads: closed, sampled, reviewed, problems.

Every draw and finding is audited (``entity`` ``inspection``).

Example::

    >>> draw = draw_sample(session, "320703", staff, department="320703-SCJGJ",
    ...                    month="2026-12", size=5, seed=None, now=clock.now())  # doctest: +SKIP
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.runtime.clock import CHINA
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import Staff, require_watch
from sunlight.runtime.core.inspection_models import InspectionDraw, InspectionSample
from sunlight.runtime.core.models import Case, CaseEvent, Department
from sunlight.runtime.core.supervision import may_supervise
from sunlight.runtime.errors import ApiError, not_found
from sunlight.supervision.sampling import (
    CATEGORIES,
    MAX_SEED,
    RESULTS,
    draw,
    month_bounds,
    population_digest,
)


def _require(staff: Staff, what: str) -> None:
    if not may_supervise(staff):
        raise ApiError(403, "forbidden", f"{what} needs the supervisor role (监察室) or admin")


def _role(staff: Staff) -> str:
    return "admin" if staff.is_admin else "supervisor"


def _bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start, end = month_bounds(month)
    except ValueError as exc:
        raise ApiError(422, "invalid_month", str(exc), field="month") from exc
    return (datetime.combine(start, time(), tzinfo=CHINA),
            datetime.combine(end, time(), tzinfo=CHINA))


def closed_cases(session: Session, department: str, month: str) -> list[str]:
    """Receipts of the department's cases closed in ``month`` (YYYY-MM, China time)."""
    start, end = _bounds(month)
    stmt = (select(Case.receipt).join(CaseEvent, CaseEvent.case_id == Case.id)
            .where(Case.department == department, Case.status == "closed",
                   CaseEvent.action == "close", CaseEvent.at >= start, CaseEvent.at < end)
            .distinct().order_by(Case.receipt))
    return list(session.scalars(stmt))


def draw_sample(session: Session, site: str, staff: Staff, *, department: str, month: str,
                now: datetime, size: int | None = None, share: float | None = None,
                seed: int | None = None) -> InspectionDraw:
    """Draw and record a sample; 422 for an unknown department, a bad month, size or share,
    or a month without closed cases of that department."""
    _require(staff, "random inspection (随机督查)")
    require_watch(staff, department, "random inspection (随机督查)")
    if session.get(Department, department) is None:
        raise ApiError(422, "unknown_department", f"no department {department} at this site",
                       field="department")
    if (size is None) == (share is None):
        raise ApiError(422, "size_or_share", "give size or share (not both)", field="size")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    population = closed_cases(session, department, month)
    if not population:
        raise ApiError(422, "empty_population", f"{department} closed no case in {month}",
                       field="month")
    try:
        sample = draw(population, seed=seed, size=size, share=share)
    except ValueError as exc:
        raise ApiError(422, "invalid_sample", str(exc),
                       field="size" if size is not None else "share") from exc
    row = InspectionDraw(id=uuid.uuid4(), department=department, month=month, seed=seed,
                         size=size, share=share, population=len(population),
                         population_sha256=population_digest(population),
                         drawn_by=staff.username, drawn_at=now)
    session.add(row)
    session.flush()
    session.add_all(InspectionSample(draw_id=row.id, receipt=r) for r in sample)
    audit(session, site, actor=staff.username, role=_role(staff), entity="inspection",
          entity_id=str(row.id), action="draw",
          comment=f"{department} {month} seed {seed}: {len(sample)} of {len(population)} "
                  f"({row.population_sha256[:12]})")
    return row


def record_finding(session: Session, site: str, staff: Staff, draw_id: uuid.UUID, receipt: str,
                   *, result: str, category: str | None, text: str,
                   now: datetime) -> InspectionSample:
    """Write (or revise) the finding on a sampled case; 404 if it is not in the draw."""
    _require(staff, "random inspection (随机督查)")
    if result not in RESULTS:
        raise ApiError(422, "invalid_result", f"result must be one of {', '.join(RESULTS)}",
                       field="result")
    if result == "problem":
        if category not in CATEGORIES:
            raise ApiError(422, "invalid_category", "a problem needs a category: "
                           f"{', '.join(CATEGORIES)}", field="category")
        if not text.strip():
            raise ApiError(422, "no_text", "describe the problem found", field="text")
    elif category is not None:
        raise ApiError(422, "invalid_category", "an ok finding has no category",
                       field="category")
    drawn = session.get(InspectionDraw, draw_id)
    if drawn is not None:
        require_watch(staff, drawn.department, f"inspection draw {draw_id}")
    sample = session.get(InspectionSample, (draw_id, receipt), with_for_update=True)
    if sample is None:
        raise not_found(f"case {receipt} in inspection draw {draw_id}")
    action = "revise" if sample.result else "review"
    before = sample.result
    sample.result, sample.category, sample.text = result, category, text
    sample.reviewed_by, sample.reviewed_at = staff.username, now
    audit(session, site, actor=staff.username, role=_role(staff), entity="inspection",
          entity_id=f"{draw_id}:{receipt}"[:64], action=action, from_state=before,
          to_state=result, comment=f"{category or ''} {text}".strip()[:4000])
    return sample


def draws(session: Session, staff: Staff, *, department: str | None = None,
          month: str | None = None) -> list[tuple[InspectionDraw, list[InspectionSample]]]:
    """Draws (newest first) with their samples and findings."""
    _require(staff, "random inspection (随机督查)")
    stmt = select(InspectionDraw)
    if department:
        stmt = stmt.where(InspectionDraw.department == department)
    if not staff.site_wide:  # a supervisor scoped to departments
        stmt = stmt.where(InspectionDraw.department.in_(sorted(staff.covers or ())))
    if month:
        _bounds(month)
        stmt = stmt.where(InspectionDraw.month == month)
    rows = list(session.scalars(stmt.order_by(InspectionDraw.drawn_at.desc(),
                                              InspectionDraw.id)))
    samples: dict[uuid.UUID, list[InspectionSample]] = {r.id: [] for r in rows}
    if rows:
        for s in session.scalars(select(InspectionSample).where(
                InspectionSample.draw_id.in_(list(samples))).order_by(InspectionSample.receipt)):
            samples[s.draw_id].append(s)
    return [(r, samples[r.id]) for r in rows]


def one_draw(session: Session, staff: Staff,
             draw_id: uuid.UUID) -> tuple[InspectionDraw, list[InspectionSample]]:
    _require(staff, "random inspection (随机督查)")
    row = session.get(InspectionDraw, draw_id)
    if row is None:
        raise not_found(f"inspection draw {draw_id}")
    require_watch(staff, row.department, f"inspection draw {draw_id}")
    samples = list(session.scalars(select(InspectionSample).where(
        InspectionSample.draw_id == draw_id).order_by(InspectionSample.receipt)))
    return row, samples


@dataclass(frozen=True)
class MonthFigures:
    """One department's random inspection in one month (all its draws together)."""

    department: str
    month: str
    draws: int
    closed: int
    sampled: int
    reviewed: int
    problems: int
    categories: dict[str, int]


def summary(session: Session, month: str, department: str | None = None) -> list[MonthFigures]:
    """Per department, the month's inspection figures (read by the performance evaluation).

    ``closed`` is the population of the newest draw; ``sampled`` counts distinct cases.
    """
    _bounds(month)
    stmt = select(InspectionDraw).where(InspectionDraw.month == month)
    if department:
        stmt = stmt.where(InspectionDraw.department == department)
    found: dict[str, list[InspectionDraw]] = {}
    for row in session.scalars(stmt.order_by(InspectionDraw.drawn_at)):
        found.setdefault(row.department, []).append(row)
    out = []
    for dept, rows in sorted(found.items()):
        ids = [r.id for r in rows]
        samples = session.execute(
            select(InspectionSample.receipt, InspectionSample.result,
                   InspectionSample.category, InspectionSample.reviewed_at)
            .where(InspectionSample.draw_id.in_(ids))
            .order_by(InspectionSample.receipt, InspectionSample.reviewed_at.desc().nulls_last())
        ).all()
        latest: dict[str, tuple[str | None, str | None]] = {}
        for receipt, result, category, _at in samples:  # newest finding first per case
            latest.setdefault(receipt, (result, category))
        categories: dict[str, int] = {}
        for result, category in latest.values():
            if result == "problem" and category:
                categories[category] = categories.get(category, 0) + 1
        out.append(MonthFigures(
            department=dept, month=month, draws=len(rows), closed=rows[-1].population,
            sampled=len(latest), reviewed=sum(1 for r, _ in latest.values() if r),
            problems=sum(1 for r, _ in latest.values() if r == "problem"),
            categories=categories))
    return out
