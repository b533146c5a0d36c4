"""The whitelist: every record type allowed to cross between the zones, as strict models.

Inward (portal → core) and outward (core → portal) types are disjoint; anything else is
refused by both the gateway and core's exchange API.

Example::

    >>> from sunlight.runtime.gateway.records import parse_record
    >>> parse_record("inward", "feedback.rating", {"receipt": "320703-20261128-000001",
    ...     "score": 5, "comment": ""}).score
    5
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Direction = Literal["inward", "outward"]
RECEIPT = r"^\d{6}-\d{8}-\d{6}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Applicant(_Strict):
    kind: Literal["person", "enterprise"]
    id_number: str = Field(min_length=15, max_length=18)
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(default="", max_length=32)


class MaterialRecord(_Strict):
    id: str
    name: str = Field(min_length=1, max_length=200)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=120)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_b64: str

    def content(self) -> bytes:
        """The bytes, after checking they are the ones that were uploaded."""
        data = base64.b64decode(self.content_b64, validate=True)
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            raise ValueError(f"material {self.id}: bytes do not match size/sha256")
        return data


class ApplicationSubmitted(_Strict):
    receipt: str = Field(pattern=RECEIPT)
    item_code: str
    item_version: int = Field(ge=1)
    applicant: Applicant
    form: dict[str, object]
    submitted_at: datetime
    batch: int = Field(ge=0)
    materials: list[MaterialRecord]


class ApplicationResubmitted(_Strict):
    receipt: str = Field(pattern=RECEIPT)
    batch: int = Field(ge=1)
    submitted_at: datetime
    materials: list[MaterialRecord]


class Complaint(_Strict):
    receipt: str = Field(pattern=RECEIPT)
    text: str = Field(min_length=1, max_length=4000)


class RatingRecord(_Strict):
    receipt: str = Field(pattern=RECEIPT)
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class CaseStatus(_Strict):
    receipt: str = Field(pattern=RECEIPT)
    status: str = Field(max_length=32)
    status_seq: int = Field(ge=0)
    decision: str | None = None
    comment: str = ""
    due_on: date | None = None
    overdue: bool = False

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        from sunlight.workflow.machine import CaseStatus as Machine

        if value not in {s.value for s in Machine}:
            raise ValueError(f"unknown case status {value!r}")
        return value


class CatalogueItem(_Strict):
    code: str
    version: int = Field(ge=1)
    status: Literal["published", "retired"]
    department_name: str
    doc: dict[str, object]


INWARD: dict[str, type[_Strict]] = {
    "application.submitted": ApplicationSubmitted,
    "application.resubmitted": ApplicationResubmitted,
    "feedback.complaint": Complaint,
    "feedback.rating": RatingRecord,
}
OUTWARD: dict[str, type[_Strict]] = {
    "case.status": CaseStatus,
    "catalogue.item": CatalogueItem,
}


class RecordRejected(ValueError):
    """Not on the whitelist, or not valid for its type; the reason says which."""


def parse_record(direction: Direction, record_type: str, payload: dict[str, object]) -> _Strict:
    table = INWARD if direction == "inward" else OUTWARD
    model = table.get(record_type)
    if model is None:
        raise RecordRejected(f"record type {record_type!r} may not cross {direction}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RecordRejected(f"{record_type}: {where}: {first['msg']}") from exc
