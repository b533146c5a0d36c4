"""Request and response bodies of the cross-tier staff routes (:mod:`.api_supervision`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

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
    model_config = ConfigDict(extra="forbid")
    target: str = Field(pattern=r"^\d{6}$", description="The subordinate site's division code")
    receipt: str = Field(pattern=r"^\d{6}-\d{8}-\d{6}$")
    text: str = Field(min_length=1, max_length=4000)
    due_on: date | None = None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class OrderOut(BaseModel):
    id: uuid.UUID
    issuer: str
    target: str
    receipt: str
    text: str
    due_on: date | None
    issued_by: str
    issued_at: datetime
    status: str
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    received_at: datetime | None


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
