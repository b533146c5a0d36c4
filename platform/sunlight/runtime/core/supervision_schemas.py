"""Request and response bodies of the cross-tier staff routes (:mod:`.api_supervision`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SubordinateOut(BaseModel):
    site: str
    cases: int
    overdue: int
    last_update: datetime | None
    held_events: int
    stats_as_of: datetime | None
    stats: dict[str, Any] | None


class SubordinateEventOut(BaseModel):
    seq: int
    event_id: uuid.UUID
    action: str
    from_status: str | None
    to_status: str
    at: datetime
    applied_at: datetime


class SubordinateCaseOut(BaseModel):
    site: str
    receipt: str
    last_seq: int
    status: str | None
    department: str | None
    item_code: str | None
    decision: str | None
    due_on: date | None
    overdue: bool
    updated_at: datetime
    events: list[SubordinateEventOut]


class OrderIn(BaseModel):
    """A 督办 order: to a department of this site (``target`` omitted or this site's code,
    ``department`` and/or ``receipt``), or to a case at a subordinate site (``target`` and
    ``receipt``). Due in ``due_days`` working days (default 3) or on ``due_on``."""

    model_config = ConfigDict(extra="forbid")
    target: str | None = Field(None, pattern=r"^\d{6}$",
                               description="The addressed site's division code; omitted: "
                                           "this site")
    department: str | None = Field(None, min_length=1, max_length=40,
                                   description="The addressed department (this site)")
    receipt: str | None = Field(None, pattern=r"^\d{6}-\d{8}-\d{6}$",
                                description="The case the order is about")
    text: str = Field(min_length=1, max_length=4000)
    due_days: int | None = Field(None, ge=1, le=60,
                                 description="Working days to answer (default 3)")
    due_on: date | None = Field(None, description="Or an explicit due date")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=4000, description="Optional remark on the answer")


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=4000,
                        description="Why the answer is returned (the department reads it)")


class OrderStepOut(BaseModel):
    at: datetime
    by: str
    action: str = Field(description="issue, answer, accept, return or escalate")
    text: str
    site: str | None = None


class OrderOut(BaseModel):
    id: uuid.UUID
    issuer: str
    target: str
    department: str | None
    receipt: str | None
    text: str
    due_on: date | None
    overdue: bool = Field(description="Waiting for its answer after its due date")
    issued_by: str
    issued_at: datetime
    status: str = Field(description="open (待答复), answered (待审核) or accepted (已办结)")
    status_zh: str
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    received_at: datetime | None
    rule_id: str | None = Field(description="The rule of an automatic order")
    returns: int = Field(description="How many times the answer was returned")
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None = Field(description="The reason of the last return, or the "
                                                "remark of the acceptance")
    escalated_at: datetime | None
    escalated_to: str | None = Field(description="Set where the order escalated from")
    escalated_from: str | None = Field(description="Set at the parent it escalated to: the "
                                                   "site that escalated it")
    history: list[OrderStepOut]


class EscalationRunOut(BaseModel):
    escalated: int = Field(description="Orders escalated to the parent by this run")


class InspectionDrawIn(BaseModel):
    """Draw ``size`` cases, or a ``share`` of them, from the department's cases closed in
    ``month``; the seed is generated unless given (to repeat a draw)."""

    model_config = ConfigDict(extra="forbid")
    department: str = Field(min_length=1, max_length=40)
    month: str = Field(pattern=r"^20\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM")
    size: int | None = Field(None, ge=1, le=1000)
    share: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, ge=0, le=2**63 - 1)


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: Literal["ok", "problem"]
    category: Literal["timeliness", "procedure", "materials", "documents", "discretion",
                      "offline", "other"] | None = None
    text: str = Field("", max_length=4000)


class SampleOut(BaseModel):
    receipt: str
    result: str | None = Field(description="ok, problem, or null until reviewed")
    category: str | None
    category_zh: str | None
    text: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None


class InspectionDrawOut(BaseModel):
    id: uuid.UUID
    department: str
    month: str
    seed: int
    size: int | None
    share: float | None
    population: int = Field(description="Cases the department closed in the month")
    population_sha256: str = Field(description="SHA-256 of the sorted receipts, one a line")
    drawn_by: str
    drawn_at: datetime
    samples: list[SampleOut]


class InspectionMonthOut(BaseModel):
    department: str
    month: str
    draws: int
    closed: int
    sampled: int
    reviewed: int
    problems: int
    categories: dict[str, int]


class AdoptionOut(BaseModel):
    site: str
    decision: str
    localized: list[dict[str, Any]]
    note: str
    decided_by: str
    decided_at: datetime
    received_at: datetime | None


class BaselineOut(BaseModel):
    issuer: str
    version: int
    title: str
    items: int
    published_at: datetime
    received_at: datetime | None
    adoptions: list[AdoptionOut]
