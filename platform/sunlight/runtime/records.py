"""The zone-crossing records: every record type allowed between the portal and core, typed.

The whitelist. Inward (portal, external zone → core, internal zone) and outward (core →
portal) types are disjoint; anything else is refused by both the gateway and core's
exchange API. Neutral ground: the portal, the gateway and core import this module; it
imports none of them.

Producers build these models and store :meth:`Record.payload` — the portal's outbox writer
(inward records, as *staged*: an application names its materials by id, and the gateway
replaces the ids with references, :meth:`StagedApplicationSubmitted.with_materials`) and
core's outbound feed (outward records). A material's bytes never ride in a record: the
gateway sends each material on its own first (core's ``PUT /api/v1/exchange/materials/ID``,
kept by id and checked against its sha256), and the application then references them by
id, size and sha256 (:class:`MaterialRef`); core refuses an application whose materials
have not all crossed with those hashes. Consumers validate with :func:`parse_record`
(:func:`parse_staged` for the portal's outbox rows): the gateway both ways, core inward.
The wire format is the JSON of :meth:`Record.payload`: the field names below, datetimes
in ``isoformat()`` (``2026-11-28T08:30:00.123456+00:00``), dates ``YYYY-MM-DD`` — what the
untyped producers wrote, so rows stored before still parse. Free-form JSON (an
application's form, a catalogue document) must have a canonical form
(:mod:`sunlight.canonical`): the gateway digests every record it carries.

Example::

    >>> from sunlight.runtime.records import RatingRecord, parse_record
    >>> rating = RatingRecord(receipt="320703-20261128-000001", score=5)
    >>> rating.RECORD_TYPE, rating.payload()
    ('feedback.rating', {'receipt': '320703-20261128-000001', 'score': 5, 'comment': ''})
    >>> parse_record("inward", "feedback.rating", rating.payload()) == rating
    True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sunlight.canonical import CanonicalError, canonical_json
from sunlight.catalogue.model import PublicGuide

Direction = Literal["inward", "outward"]
RECEIPT = r"^\d{6}-\d{8}-\d{6}$"


def _canonical(value: dict[str, object]) -> dict[str, object]:
    try:
        canonical_json(value)
    except CanonicalError as exc:
        raise ValueError(str(exc)) from exc
    return value


#: Free-form JSON object that has a canonical form (no NaN, no integer beyond 2**53 ...).
JsonObject = Annotated[dict[str, object], AfterValidator(_canonical)]
#: A datetime written as ``isoformat()``, as the untyped producers wrote it.
IsoDateTime = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str,
                                                  when_used="json")]


class RecordRejected(ValueError):
    """Not on the whitelist, or not valid for its type; the reason says which."""


def _reason(record_type: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{record_type}: {where}: {first['msg']}"


class Record(BaseModel):
    """A record that crosses: strict (unknown fields refused), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    RECORD_TYPE: ClassVar[str] = ""

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """Construct, raising :class:`RecordRejected` (not a pydantic error) when invalid."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise RecordRejected(_reason(cls.RECORD_TYPE, exc)) from exc

    def payload(self) -> dict[str, object]:
        """The record as it is stored and sent: JSON-native values only."""
        return self.model_dump(mode="json")


class Applicant(Record):
    kind: Literal["person", "enterprise"]
    id_number: str = Field(min_length=15, max_length=18)
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(default="", max_length=32)


class MaterialRef(Record):
    """A material as an application record names it: its bytes crossed on their own, before
    the record, and are found by ``id`` and checked against ``size`` and ``sha256``."""

    id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=120)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _Submission(Record):
    receipt: str = Field(pattern=RECEIPT)
    item_code: str
    item_version: int = Field(ge=1)
    applicant: Applicant
    form: JsonObject
    submitted_at: IsoDateTime
    batch: int = Field(ge=0)


class ApplicationSubmitted(_Submission):
    RECORD_TYPE: ClassVar[str] = "application.submitted"
    materials: list[MaterialRef]


class StagedApplicationSubmitted(_Submission):
    """:class:`ApplicationSubmitted` as the portal stages it: materials by id."""

    RECORD_TYPE: ClassVar[str] = "application.submitted"
    materials: list[uuid.UUID]

    def with_materials(self, materials: list[MaterialRef]) -> ApplicationSubmitted:
        return ApplicationSubmitted.build(**{**_fields(self), "materials": materials})


class _Resubmission(Record):
    receipt: str = Field(pattern=RECEIPT)
    batch: int = Field(ge=1)
    submitted_at: IsoDateTime


class ApplicationResubmitted(_Resubmission):
    RECORD_TYPE: ClassVar[str] = "application.resubmitted"
    materials: list[MaterialRef]


class StagedApplicationResubmitted(_Resubmission):
    """:class:`ApplicationResubmitted` as the portal stages it: materials by id."""

    RECORD_TYPE: ClassVar[str] = "application.resubmitted"
    materials: list[uuid.UUID]

    def with_materials(self, materials: list[MaterialRef]) -> ApplicationResubmitted:
        return ApplicationResubmitted.build(**{**_fields(self), "materials": materials})


def _fields(record: Record) -> dict[str, Any]:
    """The fields of ``record`` but its materials, as values a sibling model accepts."""
    return {name: getattr(record, name) for name in type(record).model_fields
            if name != "materials"}


class Complaint(Record):
    RECORD_TYPE: ClassVar[str] = "feedback.complaint"
    receipt: str = Field(pattern=RECEIPT)
    text: str = Field(min_length=1, max_length=4000)


class RatingRecord(Record):
    RECORD_TYPE: ClassVar[str] = "feedback.rating"
    receipt: str = Field(pattern=RECEIPT)
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class CaseStatus(Record):
    """A case's status as the applicant sees it on the portal's tracking page.

    Its only text is ``applicant_note``: what staff wrote *for the applicant* on a
    transition (``applicant_note`` of the staff action, empty unless they wrote one).
    Staff's own comments (a reviewer's remarks, a suspension's reason) stay in the internal
    zone: core's history, the audit chain, the parent's case events. Rows core wrote before
    this field existed carried the transition's comment, possibly internal, as ``comment``:
    that one key is dropped on parsing, so such a row still crosses (the gateway holds its
    cursor on a row it cannot parse) without its text. Any other unknown field is refused.
    """

    RECORD_TYPE: ClassVar[str] = "case.status"
    receipt: str = Field(pattern=RECEIPT)
    status: str = Field(max_length=32)
    status_seq: int = Field(ge=0)
    decision: str | None = None
    applicant_note: str = Field(default="", max_length=4000)
    due_on: date | None = None
    overdue: bool = False

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_comment(cls, data: Any) -> Any:
        if isinstance(data, dict) and "comment" in data:
            return {k: v for k, v in data.items() if k != "comment"}
        return data

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        from sunlight.workflow.machine import CaseStatus as Machine

        if value not in {s.value for s in Machine}:
            raise ValueError(f"unknown case status {value!r}")
        return value


def _base64_in(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError("content must be base64") from exc
    return value


#: A file's bytes: base64 text in the record's JSON, bytes in Python.
Base64File = Annotated[bytes, BeforeValidator(_base64_in),
                       PlainSerializer(lambda v: base64.b64encode(v).decode("ascii"),
                                       return_type=str, when_used="json")]
#: The most bytes a decision document may have in a record (the gateway holds it to the
#: site's material limit, ``material_max_bytes``, which is at most this by default).
DOCUMENT_MAX_BYTES = 50 * 2**20


class DecisionDocument(Record):
    """A decided case's decision document (准予 / 不予行政许可决定书) for the applicant:
    core issues it at the decision (:mod:`sunlight.runtime.core.licence_decision`) and the
    portal keeps it for the holder of the application's secret.

    The PDF crosses inside the record, base64; the record is refused unless the bytes are a
    PDF of ``size`` bytes whose SHA-256 is ``sha256`` (the hash core recorded at issue), so
    the portal stores only what core issued. The gateway also holds it to the site's
    material size limit (:func:`sunlight.runtime.gateway.service.take_records`).
    """

    RECORD_TYPE: ClassVar[str] = "case.document"
    receipt: str = Field(pattern=RECEIPT)
    kind: Literal["granted", "denied"]
    title: Literal["准予行政许可决定书", "不予行政许可决定书"]
    number: str = Field(min_length=1, max_length=40)
    decided_on: date
    media_type: Literal["application/pdf"] = "application/pdf"
    size: int = Field(ge=1, le=DOCUMENT_MAX_BYTES)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content: Base64File

    @model_validator(mode="after")
    def _bytes_vouched(self) -> DecisionDocument:
        if len(self.content) != self.size:
            raise ValueError(f"content has {len(self.content)} bytes, the record says "
                             f"{self.size}")
        if hashlib.sha256(self.content).hexdigest() != self.sha256:
            raise ValueError("content does not match its sha256")
        if not self.content.startswith(b"%PDF-"):
            raise ValueError("content is not a PDF")
        expected = "准予行政许可决定书" if self.kind == "granted" else "不予行政许可决定书"
        if self.title != expected:
            raise ValueError(f"a {self.kind} decision's document is titled {expected}")
        return self


class CatalogueItem(Record):
    """A published (or retired) item's document. Its guide fields — place, contact and
    supervision telephones, the blank forms (格式文书, each file as base64, checked by
    type, size and name as the catalogue checks them) and the flow — must pass
    :class:`sunlight.catalogue.model.PublicGuide`; the portal keeps the forms' bytes apart
    (``catalogue_files``) and the rest of the document as it came."""

    RECORD_TYPE: ClassVar[str] = "catalogue.item"
    code: str
    version: int = Field(ge=1)
    status: Literal["published", "retired"]
    department_name: str
    doc: JsonObject

    @field_validator("doc")
    @classmethod
    def _guide_checked(cls, doc: dict[str, object]) -> dict[str, object]:
        try:
            PublicGuide.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from exc
        return doc

    def guide(self) -> PublicGuide:
        """The document's guide fields, parsed (the blank forms' bytes decoded)."""
        return PublicGuide.model_validate(self.doc)


#: A resident identity number in full (17 digits and a check character): never disclosed.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
#: A person's number as disclosed: the six-digit region code, then asterisks
#: (:func:`sunlight.enforcement.party.mask_id`).
_MASKED_ID = re.compile(r"^[0-9]{6}[*]{12}$")
#: A person's name as disclosed: the surname and 某 (:func:`sunlight.enforcement.party.mask_name`).
_MASKED_NAME = re.compile(r"^.某$")
#: A unified social credit code (统一社会信用代码, GB 32100), public for a company.
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


class PenaltyDisclosure(Record):
    """行政处罚结果公示: a penalty decision as the public sees it, de-identified.

    Core writes one when a decision of a penalty item is taken; the portal keeps the latest
    per ``case_id`` and serves them. ``number`` is the decision number (文书号) once one is
    allocated, else ``None``. A person's name and identity number arrive masked
    (``张某``, ``110105************``), no legal representative, and no full identity number
    anywhere in the texts; a company's name and credit code are public and kept. Anything
    else is refused, naming the field: the whitelist is the last check before the public.
    """

    RECORD_TYPE: ClassVar[str] = "penalty.disclosure"
    case_id: uuid.UUID
    number: str | None = Field(default=None, min_length=1, max_length=60)
    department: str = Field(min_length=1, max_length=40)
    department_name: str = Field(min_length=1, max_length=100)
    item_code: str = Field(min_length=1, max_length=40)
    item_name: str = Field(min_length=1, max_length=200)
    party_kind: Literal["person", "company"]
    party_name: str = Field(min_length=1, max_length=200)
    party_id: str = Field(min_length=18, max_length=18)
    legal_representative: str = Field(default="", max_length=100)
    violation: str = Field(min_length=1, max_length=1000)
    facts: str = Field(min_length=1, max_length=4000)
    legal_basis: str = Field(min_length=1, max_length=1000)
    penalty: str = Field(min_length=1, max_length=200)
    amount_yuan: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
    decided_on: date
    publish_by: date

    @field_validator("party_name")
    @classmethod
    def _name_masked(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("party_kind") == "person" and not _MASKED_NAME.match(value):
            raise ValueError("a person's name is disclosed masked (surname and 某)")
        return value

    @field_validator("party_id")
    @classmethod
    def _id_masked(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("party_kind")
        if kind == "person" and not _MASKED_ID.match(value):
            raise ValueError("a person's identity number is disclosed masked "
                             "(region code and asterisks)")
        if kind == "company" and not _CREDIT_CODE.match(value):
            raise ValueError("a company is disclosed with its unified social credit code")
        return value

    @field_validator("legal_representative")
    @classmethod
    def _no_representative_for_a_person(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("party_kind") == "person" and value:
            raise ValueError("only a company has a legal representative")
        return value

    @field_validator("violation", "facts", "legal_basis")
    @classmethod
    def _no_resident_id(cls, value: str, info: ValidationInfo) -> str:
        if _RESIDENT_ID.search(value):
            raise ValueError("holds a full resident identity number; mask it")
        return value


def _table(*models: type[Record]) -> dict[str, type[Record]]:
    return {m.RECORD_TYPE: m for m in models}


INWARD = _table(ApplicationSubmitted, ApplicationResubmitted, Complaint, RatingRecord)
OUTWARD = _table(CaseStatus, CatalogueItem, PenaltyDisclosure, DecisionDocument)
#: The inward types as the portal's outbox holds them (before the gateway adds materials).
STAGED = _table(StagedApplicationSubmitted, StagedApplicationResubmitted, Complaint,
                RatingRecord)


def _parse(table: dict[str, type[Record]], direction: Direction, record_type: str,
           payload: dict[str, object]) -> Record:
    model = table.get(record_type)
    if model is None:
        raise RecordRejected(f"record type {record_type!r} may not cross {direction}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise RecordRejected(_reason(record_type, exc)) from exc


def parse_record(direction: Direction, record_type: str, payload: dict[str, object]) -> Record:
    """The typed record, or :class:`RecordRejected` saying why it may not cross."""
    return _parse(INWARD if direction == "inward" else OUTWARD, direction, record_type,
                  payload)


def parse_staged(record_type: str, payload: dict[str, object]) -> Record:
    """A portal outbox row's record (materials by id), or :class:`RecordRejected`."""
    return _parse(STAGED, "inward", record_type, payload)
