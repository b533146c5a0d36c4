"""Staff routes of random inspection (随机督查): draws, sampled cases, findings, summary.

Supervisors (监察室) and admins only; a supervisor scoped to departments draws, reads and
reviews those departments' draws only (403 naming its coverage; lists and the summary
filtered). A draw samples a department's cases closed in a month
(reproducibly: the seed is recorded; :mod:`sunlight.runtime.core.inspection`); each sampled
case gets a finding (``ok``, or ``problem`` with a category and a text); the summary gives
the month's figures per department, as the performance evaluation reads them. Mounted under
``/api/v1/supervision/inspections`` by :mod:`.api_supervision`.

Example::

    $ curl -H "Authorization: Bearer $T" -H 'Content-Type: application/json' \\
          -d '{"department": "320703-SCJGJ", "month": "2026-12", "share": 0.1}' \\
          $CORE/api/v1/supervision/inspections
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from sunlight.runtime.core import inspection
from sunlight.runtime.core.auth import Staff, current_staff
from sunlight.runtime.core.inspection_models import InspectionDraw, InspectionSample
from sunlight.runtime.core.supervision import may_supervise
from sunlight.runtime.core.supervision_schemas import (
    FindingIn,
    InspectionDrawIn,
    InspectionDrawOut,
    InspectionMonthOut,
    SampleOut,
)
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.supervision.sampling import CATEGORIES

# Mounted by .api_supervision, whose router adds /api/v1.
router = APIRouter(prefix="/supervision/inspections", tags=["supervision"])
ERRORS = responses(401, 403, 404, 422)
Receipt = Annotated[str, Path(pattern=r"^\d{6}-\d{8}-\d{6}$")]
Month = r"^20\d\d-(0[1-9]|1[0-2])$"


def require_inspector(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not may_supervise(staff):
        raise ApiError(403, "forbidden", "random inspection (随机督查) needs the supervisor "
                       "role (监察室) or admin")
    return staff


InspectorDep = Annotated[Staff, Depends(require_inspector)]


def _draw_out(row: InspectionDraw, samples: list[InspectionSample]) -> InspectionDrawOut:
    return InspectionDrawOut(
        id=row.id, department=row.department, month=row.month, seed=row.seed, size=row.size,
        share=row.share, population=row.population, population_sha256=row.population_sha256,
        drawn_by=row.drawn_by, drawn_at=row.drawn_at,
        samples=[SampleOut(receipt=s.receipt, result=s.result, category=s.category,
                           category_zh=CATEGORIES.get(s.category) if s.category else None,
                           text=s.text, reviewed_by=s.reviewed_by, reviewed_at=s.reviewed_at)
                 for s in samples])


@router.post("", response_model=InspectionDrawOut, status_code=201,
             responses=ERRORS)
def draw_inspection(body: InspectionDrawIn, staff: InspectorDep, session: SessionDep,
                    settings: SettingsDep, clock: ClockDep) -> InspectionDrawOut:
    """Draw a random sample (随机督查) of a department's cases closed in a month; the seed
    is recorded (give it to repeat a draw: same seed and population, same sample)."""
    row = inspection.draw_sample(session, settings.site_code, staff, department=body.department,
                                 month=body.month, size=body.size, share=body.share,
                                 seed=body.seed, now=clock.now())
    return _draw_out(*inspection.one_draw(session, staff, row.id))


@router.get("", response_model=list[InspectionDrawOut],
            responses=ERRORS)
def list_inspections(
    staff: InspectorDep, session: SessionDep,
    department: Annotated[str | None, Query(max_length=40)] = None,
    month: Annotated[str | None, Query(pattern=Month)] = None,
) -> list[InspectionDrawOut]:
    """Draws, newest first, with their sampled cases and findings (supervisors, admins)."""
    return [_draw_out(row, samples) for row, samples in
            inspection.draws(session, staff, department=department, month=month)]


@router.get("/summary", response_model=list[InspectionMonthOut],
            responses=ERRORS)
def inspection_summary(
    staff: InspectorDep, session: SessionDep,
    month: Annotated[str, Query(pattern=Month)],
    department: Annotated[str | None, Query(max_length=40)] = None,
) -> list[InspectionMonthOut]:
    """Per department, the month's figures: closed, sampled, reviewed, problems by category
    (what the monthly performance evaluation reads)."""
    return [InspectionMonthOut(**dataclasses.asdict(f))
            for f in inspection.summary(session, month, department)
            if staff.watches(f.department)]


@router.get("/{draw_id}", response_model=InspectionDrawOut,
            responses=ERRORS)
def inspection_detail(draw_id: uuid.UUID, staff: InspectorDep,
                      session: SessionDep) -> InspectionDrawOut:
    """One draw with its sampled cases and findings."""
    return _draw_out(*inspection.one_draw(session, staff, draw_id))


@router.put("/{draw_id}/findings/{receipt}",
            response_model=InspectionDrawOut, responses=ERRORS)
def record_finding(draw_id: uuid.UUID, receipt: Receipt, body: FindingIn, staff: InspectorDep,
                   session: SessionDep, settings: SettingsDep,
                   clock: ClockDep) -> InspectionDrawOut:
    """Record (or revise) the finding on a sampled case: ok, or problem with a category and
    a text."""
    inspection.record_finding(session, settings.site_code, staff, draw_id, receipt,
                              result=body.result, category=body.category, text=body.text,
                              now=clock.now())
    return _draw_out(*inspection.one_draw(session, staff, draw_id))
