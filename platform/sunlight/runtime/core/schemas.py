"""Request and response bodies of the core API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from sunlight.workflow.machine import Action


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    #: The current TOTP code: needed by admin accounts enrolled with ``sunlight accounts totp``.
    totp: str | None = Field(default=None, pattern=r"^\d{6}$")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    expires_in: int


class CaseSummary(BaseModel):
    id: uuid.UUID
    receipt: str
    item_code: str
    department: str
    applicant_name: str
    status: str
    due_on: date
    remaining_working_days: int
    overdue: bool
    actions: list[str]


class EventOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    from_status: str | None
    to_status: str
    comment: str


class MaterialOut(BaseModel):
    id: uuid.UUID
    batch: int
    name: str
    filename: str
    content_type: str
    size: int
    sha256: str


class CaseDetail(CaseSummary):
    item_version: int
    applicant_kind: str
    applicant_id: str
    form: dict[str, object]
    step_index: int
    decision: str | None
    submitted_on: date
    limit_days: int
    paused: list[list[str | None]]
    materials: list[MaterialOut]
    history: list[EventOut]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    comment: str = Field(default="", max_length=4000, description=(
        "Internal: the case history, the audit chain and the supervising tiers see it; the "
        "applicant never does."))
    applicant_note: str = Field(default="", max_length=4000, description=(
        "For the applicant: the only text shown on the portal's tracking page with the new "
        "status (what to correct, why refused). Empty: the applicant sees the status alone."))


class ItemOut(BaseModel):
    code: str
    version: int
    status: str
    name: str
    category: str
    department: str


class ImportResult(BaseModel):
    changed: int


class ChainOut(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: uuid.UUID
    record_type: str = Field(max_length=40)
    payload: dict[str, object]


class RecordOutcome(BaseModel):
    outcome: str


class OutboundRecord(BaseModel):
    seq: int
    record_id: uuid.UUID
    record_type: str
    payload: dict[str, object]


class OutboundPage(BaseModel):
    records: list[OutboundRecord]
    next_cursor: int
