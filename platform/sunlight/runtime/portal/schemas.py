"""Request and response bodies of the portal API (separate from the tables)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ItemSummary(BaseModel):
    code: str
    version: int
    name: str
    category: str
    department: str
    department_name: str


class BlankFormOut(BaseModel):
    """A blank form (格式文书) to download: ``url`` serves the file."""

    name: str
    filename: str
    content_type: str
    size: int
    url: str


class ItemGuide(ItemSummary):
    """The 办事指南: everything a citizen needs before applying."""

    legal_basis: str
    implementing_body: str
    materials: list[dict[str, object]]
    statutory_limit_days: int
    promised_limit_days: int
    fees: list[dict[str, object]]
    flow: list[dict[str, object]]
    form_schema: dict[str, object]
    place: str = Field(default="", description="办理地点 (with office hours)")
    contact_phone: str = Field(default="", description="咨询电话")
    supervision_phone: str = Field(default="", description="监督电话")
    blank_forms: list[BlankFormOut] = Field(default_factory=list)
    flowchart_url: str = Field(description="The flowchart (办理流程图), SVG")


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["person", "enterprise"]
    id_number: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(default="", max_length=32)


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str = Field(min_length=1, max_length=40)
    applicant: ApplicantIn
    form: dict[str, object]


class ApplicationCreated(BaseModel):
    draft_id: str = Field(description=(
        "The draft's opaque id: upload materials and submit with it (and the secret). The "
        "receipt number (受理回执号) is issued at submission."))
    secret: str = Field(description="Shown once: needed with the receipt to track the case.")
    status: str


class Submitted(BaseModel):
    status: str
    receipt: str = Field(description="The receipt number (受理回执号), issued at the first "
                         "submission: track, complain and rate with it.")


class MaterialOut(BaseModel):
    id: str
    name: str
    filename: str
    content_type: str
    size: int
    sha256: str
    batch: int


class HistoryEntry(BaseModel):
    """One step of the case as its applicant sees it."""

    status: str
    note: str = Field(description="What staff wrote for the applicant (or the portal's note "
                      "on a resubmission); empty when nothing")
    at: datetime


class DecisionDocumentOut(BaseModel):
    """The decision document of a decided application (准予 / 不予行政许可决定书)."""

    title: str
    number: str = Field(description="The document number (文书号), e.g. 连云市监许准〔2026〕1号")
    decided_on: date
    media_type: str
    size: int
    sha256: str = Field(description="SHA-256 of the PDF as core issued it")
    url: str = Field(description="Where to download it (send the same X-Tracking-Secret)")


class ApplicationOut(BaseModel):
    receipt: str | None = Field(description="None while the application is a draft.")
    item_code: str
    item_name: str
    status: str
    status_comment: str = Field(description=(
        "What staff wrote for you with the current status (empty when they wrote nothing); "
        "their internal comments are never shown."))
    decision: str | None
    due_on: date | None
    overdue: bool
    submissions: int
    materials: list[MaterialOut]
    created_at: datetime
    updated_at: datetime
    materials_purged_at: datetime | None = Field(default=None, description=(
        "When the materials were deleted under the retention rule (the case closed long "
        "enough ago); null while they are kept."))
    retention_note: str = Field(default="", description="Says so, in Chinese, once they are.")
    history: list[HistoryEntry] = Field(default_factory=list, description=(
        "Each submission and each status core sent, oldest first (issue 17)."))
    has_decision_document: bool = Field(default=False, description=(
        "Whether the decision document (决定书) has reached the portal."))
    decision_document: DecisionDocumentOut | None = Field(default=None, description=(
        "The decision document, once the case is decided and the document has crossed."))


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class Accepted(BaseModel):
    status: str


class PenaltyDisclosureOut(BaseModel):
    """行政处罚结果公示: a penalty decision as disclosed. ``number`` is the decision number
    (文书号), ``None`` until the site allocates them; ``reference`` is that number or, until
    then, a short form of the case's id. A person's name and identity number are masked."""

    reference: str
    number: str | None
    department: str
    department_name: str
    item_code: str
    item_name: str
    party_kind: str
    party_name: str
    party_id: str
    legal_representative: str
    violation: str
    facts: str
    legal_basis: str
    penalty: str
    amount_yuan: str
    decided_on: date
    publish_by: date
