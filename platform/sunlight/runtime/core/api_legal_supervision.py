"""Routes of legal supervision (法制监督): 行政复议/行政诉讼 and the monthly view.

Who may call what:

- a legal reviewer of the case's department records a 行政复议 or 行政诉讼 against a
  decided enforcement case (``POST …/cases/{case_id}/challenges``: kind, filed on, the
  复议机关 or court) and, later, its outcome (``POST …/challenges/{challenge_id}/outcome``:
  upheld 维持, revoked 撤销, changed 变更, confirmed_illegal 确认违法, and the day); 409
  against a case without a decision or for an outcome recorded already, 403 for any other
  role, 422 naming the field; staff who may see the case list its challenges;
- legal reviewers, supervisors and admins read ``GET /legal-supervision?month=YYYY-MM``
  (default: this month by core's clock): per department, decisions, overrides, refused
  out-of-band and unqualified attempts, decisions on major items without legal review, the
  challenges filed and their outcomes — and each override with its justification and the
  light the site's e-supervision rules give it (red under the default
  ``DISCRETION-OVERRIDE`` rule). At a city or the province the figures include the
  subordinates' (received through the exchange), each row under its origin ``site``. A
  supervisor scoped to departments sees the rows of those departments at this site only.

Example::

    $ curl -H "Authorization: Bearer $T" "$CORE/api/v1/legal-supervision?month=2026-03"
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sunlight.enforcement import oversight, review
from sunlight.runtime.core import enforcement, legal_supervision
from sunlight.runtime.core.auth import Staff, StaffDep, current_staff
from sunlight.runtime.core.legal_supervision_models import EnforcementChallenge
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses

router = APIRouter(prefix="/api/v1")
ERRORS = responses(401, 403, 404, 409, 422)
_STRICT = ConfigDict(extra="forbid")
MONTH_PATTERN = f"^{oversight.MONTH_PATTERN}$"


def require_viewer(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not legal_supervision.VIEWER_ROLES & set(staff.roles):
        raise ApiError(403, "forbidden", "the legal-supervision view is for legal reviewers, "
                       "supervisors and admins")
    return staff


ViewerDep = Annotated[Staff, Depends(require_viewer)]


class ChallengeIn(BaseModel):
    model_config = _STRICT
    kind: Literal["reconsideration", "litigation"] = Field(
        description="reconsideration 行政复议 or litigation 行政诉讼")
    filed_on: date = Field(description="not before the decision, not after today")
    body: str = Field(max_length=200, description="the 复议机关 or the court")


class OutcomeIn(BaseModel):
    model_config = _STRICT
    outcome: Literal["upheld", "revoked", "changed", "confirmed_illegal"] = Field(
        description="维持, 撤销, 变更, 确认违法")
    decided_on: date = Field(description="not before the filing, not after today")


class ChallengeOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    department: str
    kind: str
    kind_zh: str
    filed_on: date
    body: str
    filed_by: str
    outcome: str | None
    outcome_zh: str | None
    decided_on: date | None
    decided_by: str | None
    updated_at: datetime


class FiguresOut(BaseModel):
    site: str
    department: str
    month: str
    decisions: int
    overrides: int
    refused_out_of_band: int
    refused_unqualified: int
    missing_legal_review: int = Field(description="decisions on items marking decisions as "
                                      "major without a legal review (0 when the flow holds)")
    filed: dict[str, int] = Field(description="challenges filed this month, by kind")
    outcomes: dict[str, dict[str, int]] = Field(description="challenges decided this month, "
                                                "by kind and outcome")


class OverrideOut(BaseModel):
    site: str = Field(description="where the case runs: this site or a subordinate")
    case_id: str
    department: str
    item_code: str
    on: date
    reviewer: str
    justification: str
    light: str = Field(description="none, yellow or red, under the site's rules in force")
    rule_ids: list[str]
    texts: list[str]


class ViewOut(BaseModel):
    site: str
    month: str
    figures: list[FiguresOut]
    overrides: list[OverrideOut]


def _challenge_out(row: EnforcementChallenge) -> ChallengeOut:
    return ChallengeOut(
        id=row.id, case_id=row.case_id, department=row.department, kind=row.kind,
        kind_zh=review.KINDS[row.kind], filed_on=row.filed_on, body=row.body,
        filed_by=row.filed_by, outcome=row.outcome,
        outcome_zh=review.OUTCOMES[row.outcome] if row.outcome else None,
        decided_on=row.decided_on, decided_by=row.decided_by, updated_at=row.updated_at)


@router.post("/enforcement/cases/{case_id}/challenges", tags=["legal supervision"],
             status_code=201, response_model=ChallengeOut, responses=ERRORS)
def file_challenge(case_id: uuid.UUID, body: ChallengeIn, staff: StaffDep,
                   session: SessionDep, settings: SettingsDep,
                   clock: ClockDep) -> ChallengeOut:
    """行政复议/行政诉讼 filed against the case's decision (legal reviewer of its department)."""
    row = legal_supervision.file_challenge(
        session, settings.site_code, staff, case_id, kind=body.kind, filed_on=body.filed_on,
        body=body.body, today=clock.today(), now=clock.now())
    return _challenge_out(row)


@router.get("/enforcement/cases/{case_id}/challenges", tags=["legal supervision"],
            response_model=list[ChallengeOut], responses=ERRORS)
def list_challenges(case_id: uuid.UUID, staff: StaffDep,
                    session: SessionDep) -> list[ChallengeOut]:
    """The case's 行政复议 and 行政诉讼, oldest first (whoever may see the case)."""
    enforcement.get_case(session, staff, case_id)
    return [_challenge_out(row) for row in legal_supervision.case_challenges(session, case_id)]


@router.post("/enforcement/challenges/{challenge_id}/outcome", tags=["legal supervision"],
             response_model=ChallengeOut, responses=ERRORS)
def decide_challenge(challenge_id: uuid.UUID, body: OutcomeIn, staff: StaffDep,
                     session: SessionDep, settings: SettingsDep,
                     clock: ClockDep) -> ChallengeOut:
    """The outcome of a filed 行政复议 or 行政诉讼 (once)."""
    row = legal_supervision.decide_challenge(
        session, settings.site_code, staff, challenge_id, outcome=body.outcome,
        decided_on=body.decided_on, today=clock.today(), now=clock.now())
    return _challenge_out(row)


@router.get("/legal-supervision", tags=["legal supervision"], response_model=ViewOut,
            responses=ERRORS)
def legal_supervision_view(staff: ViewerDep, session: SessionDep, settings: SettingsDep,
                           clock: ClockDep,
                           month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None
                           ) -> ViewOut:
    """法制监督: one month's figures per site and department (this site's and its
    subordinates'), and the overrides' lights."""
    seen = legal_supervision.view(session, settings.site_code,
                                  month or oversight.month_of(clock.today()))

    def shown(site: str, department: str) -> bool:
        if not staff.is_supervisor or staff.site_wide:
            return True
        return site == settings.site_code and staff.watches(department)

    return ViewOut(
        site=seen.site, month=seen.month,
        figures=[FiguresOut(site=f.site, department=f.department, month=f.month,
                            decisions=f.decisions, overrides=f.overrides,
                            refused_out_of_band=f.refused_out_of_band,
                            refused_unqualified=f.refused_unqualified,
                            missing_legal_review=f.missing_legal_review, filed=f.filed,
                            outcomes=f.outcomes) for f in seen.figures
                 if shown(f.site, f.department)],
        overrides=[OverrideOut(site=r.entry.site, case_id=r.entry.case_id,
                               department=r.entry.department,
                               item_code=r.entry.item_code, on=r.entry.on,
                               reviewer=r.entry.reviewer, justification=r.entry.justification,
                               light=r.light, rule_ids=list(r.rule_ids), texts=list(r.texts))
                   for r in seen.overrides if shown(r.entry.site, r.entry.department)])
