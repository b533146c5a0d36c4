"""The catalogue's data model: departments, power items and their parts.

Every model is immutable and rejects unknown fields; a :class:`Catalogue` holds the
cross-item rules (departments exist, one published version per code). Money is
:class:`~decimal.Decimal` yuan with at most two decimals, normalised to exactly two
(``Decimal("80")`` → ``Decimal("80.00")``) so every source prints the same.

Example::

    >>> from sunlight.catalogue.model import Category, Department
    >>> Category.PENALTY.zh
    '行政处罚'
    >>> Category("行政许可") is Category.LICENCE     # the Chinese name is accepted too
    True
    >>> Department(code="320703-SCJGJ", name="连云区市场监督管理局").code
    '320703-SCJGJ'
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sunlight.catalogue.errors import located
from sunlight.catalogue.flow import FlowError, FlowStep, validate_flow
from sunlight.catalogue.forms import check_form_schema

ITEM_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,39}$"
#: Site division code (GB/T 2260, six digits) + department abbreviation, e.g. 320703-SCJGJ.
DEPARTMENT_CODE_PATTERN = r"^[0-9]{6}-[A-Z0-9]{2,20}$"
SEVERITIES: tuple[str, ...] = ("minor", "general", "serious")
Severity = Literal["minor", "general", "serious"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Category(str, Enum):
    """The twelve categories of administrative power (权力类别)."""

    LICENCE = "licence"
    NON_LICENCE_APPROVAL = "non_licence_approval"
    PENALTY = "penalty"
    COERCION = "coercion"
    LEVY = "levy"
    FEE = "fee"
    BENEFIT = "benefit"
    INSPECTION = "inspection"
    CONFIRMATION = "confirmation"
    REWARD = "reward"
    ADJUDICATION = "adjudication"
    OTHER = "other"

    @property
    def zh(self) -> str:
        """The Chinese name users know, e.g. 行政许可."""
        return _CATEGORY_ZH[self.value]

    @classmethod
    def _missing_(cls, value: object) -> Category | None:
        # Spreadsheets filled in by departments use the Chinese names; accept them.
        for member in cls:
            if _CATEGORY_ZH[member.value] == value:
                return member
        return None


_CATEGORY_ZH: dict[str, str] = {
    "licence": "行政许可",
    "non_licence_approval": "非行政许可审批",
    "penalty": "行政处罚",
    "coercion": "行政强制",
    "levy": "行政征收",
    "fee": "行政收费",
    "benefit": "行政给付",
    "inspection": "行政检查",
    "confirmation": "行政确认",
    "reward": "行政奖励",
    "adjudication": "行政裁决",
    "other": "其他",
}


_ENFORCEMENT_ORDER = (Category.PENALTY, Category.COERCION, Category.LEVY, Category.INSPECTION)
#: The categories whose cases staff open themselves (立案) and run as enforcement cases
#: (:mod:`sunlight.enforcement`): 行政处罚, 行政强制, 行政征收, 行政检查.
ENFORCEMENT_CATEGORIES: frozenset[Category] = frozenset(_ENFORCEMENT_ORDER)


class ItemStatus(str, Enum):
    """Where a version of an item is in its life: draft → published → retired."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


#: A non-negative yuan amount with at most two decimals (fen), stored with exactly two.
Yuan = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=2), AfterValidator(_two_places)
]
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]

#: A telephone number citizens can dial: a landline with its area code (0518-85801234,
#: optionally an extension), a mobile number, or a short service line (12345, 12315).
PHONE_PATTERN = re.compile(r"^(0[0-9]{2,3}-[0-9]{7,8}(-[0-9]{1,6})?|1[3-9][0-9]{9}|1[0-9]{4})$")


def _phone(value: str) -> str:
    if value and not PHONE_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a telephone number: write a landline with its area "
                         "code (0518-85801234), a mobile number or a service line (12345)")
    return value


#: A telephone number, or empty when the item does not give one.
Phone = Annotated[str, Field(max_length=30), AfterValidator(_phone)]

#: The largest blank form (格式文书) one item may carry, and all of an item's together:
#: they travel inside the published item to the portal (its feed page holds several items).
MAX_BLANK_FORM_BYTES = 512 * 1024
MAX_BLANK_FORMS_BYTES = 2 * 2**20
#: The blank forms' file types, with the extension the file name must end with and the
#: first bytes the content must start with.
BLANK_FORM_TYPES: dict[str, tuple[str, bytes]] = {
    "application/pdf": (".pdf", b"%PDF-"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        (".docx", b"PK\x03\x04"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        (".xlsx", b"PK\x03\x04"),
    "application/msword": (".doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    "application/vnd.ms-excel": (".xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
}
#: What a file name may not hold: directories, control and bidirectional characters.
_NOT_IN_FILENAME = re.compile(r"[/\\\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _filename(value: str) -> str:
    bad = _NOT_IN_FILENAME.search(value)
    if bad is not None:
        raise ValueError(f"a file name may not contain {bad.group()!r} (no directories, "
                         "control or bidirectional characters)")
    if value.strip() != value or value.startswith("."):
        raise ValueError("a file name may not start with a dot or a space, or end with a space")
    return value


def _bytes_in(value: object) -> object:
    """Bytes as they are (YAML ``!!binary``, Python); text as base64 (JSON, Excel)."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError("content must be base64 (or binary in YAML)") from exc
    return value


def _file_size(value: bytes) -> bytes:
    if not value:
        raise ValueError("the file is empty")
    if len(value) > MAX_BLANK_FORM_BYTES:
        raise ValueError(f"the file has {len(value)} bytes; a blank form may have at most "
                         f"{MAX_BLANK_FORM_BYTES} bytes")
    return value


#: A file's bytes: base64 text in JSON (the published item, the workbook), bytes in Python
#: and ``!!binary`` in YAML.
FileBytes = Annotated[
    bytes, BeforeValidator(_bytes_in), AfterValidator(_file_size),
    PlainSerializer(lambda v: base64.b64encode(v).decode("ascii"), return_type=str,
                    when_used="json"),
]


class Department(BaseModel):
    """A department (部门) of the site that holds powers."""

    model_config = _FROZEN

    code: str = Field(pattern=DEPARTMENT_CODE_PATTERN)
    name: NonBlank


class Material(BaseModel):
    """One application material (申报材料)."""

    model_config = _FROZEN

    name: NonBlank
    required: bool = True
    note: str = ""


class Fee(BaseModel):
    """One fee (收费标准); ``amount_yuan`` is ``None`` when charged by the schedule in basis."""

    model_config = _FROZEN

    name: NonBlank
    amount_yuan: Yuan | None
    basis: str = ""


class BlankForm(BaseModel):
    """A blank form (格式文书) citizens download from the item's guide: a name, the file
    name it is saved under, its type and the file itself."""

    model_config = _FROZEN

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
    filename: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_filename)]
    content_type: Literal[
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/msword",
        "application/vnd.ms-excel",
    ]
    content: FileBytes

    @model_validator(mode="after")
    def _type_matches(self) -> BlankForm:
        extension, magic = BLANK_FORM_TYPES[self.content_type]
        if not self.filename.lower().endswith(extension):
            raise located(f"a {self.content_type} file name must end with {extension}",
                          ("filename",))
        if not self.content.startswith(magic):
            raise located(f"the content is not a {extension} file (it does not start as one)",
                          ("content",))
        return self


class DiscretionBand(BaseModel):
    """The fine range for one severity (情节) of one violation."""

    model_config = _FROZEN

    severity: Severity
    label: NonBlank
    min_yuan: Yuan
    max_yuan: Yuan

    @field_validator("max_yuan")
    @classmethod
    def _max_not_below_min(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        low = info.data.get("min_yuan")
        if low is not None and value < low:
            raise located(f"must be ≥ min_yuan ({low})", ())
        return value


class DiscretionStandard(BaseModel):
    """The discretion standard (自由裁量基准) for one violation of a penalty item."""

    model_config = _FROZEN

    violation: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,19}$")
    description: NonBlank
    bands: list[DiscretionBand] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _bands_ordered(cls, bands: list[DiscretionBand]) -> list[DiscretionBand]:
        seen: dict[str, int] = {}
        for index, band in enumerate(bands):
            if band.severity in seen:
                raise located(
                    f"severity {band.severity!r} appears twice (also bands[{seen[band.severity]}])",
                    (index, "severity"),
                )
            seen[band.severity] = index
        ranked = sorted(range(len(bands)), key=lambda i: SEVERITIES.index(bands[i].severity))
        for lower, higher in itertools.pairwise(ranked):
            a, b = bands[lower], bands[higher]
            # Heavier circumstances may never allow a lighter fine than lighter ones.
            if b.min_yuan < a.min_yuan:
                raise located(
                    f"{b.severity} min_yuan {b.min_yuan} is below {a.severity} min_yuan "
                    f"{a.min_yuan}",
                    (higher, "min_yuan"),
                )
            if b.max_yuan < a.max_yuan:
                raise located(
                    f"{b.severity} max_yuan {b.max_yuan} is below {a.severity} max_yuan "
                    f"{a.max_yuan}",
                    (higher, "max_yuan"),
                )
        return bands


class PowerItem(BaseModel):
    """One version of one power item (权力事项).

    Field order matters: validators of later fields read earlier ones (``promised`` reads
    ``statutory``, ``discretion`` reads ``category``).
    """

    model_config = _FROZEN

    code: str = Field(pattern=ITEM_CODE_PATTERN)
    version: int = Field(ge=1)
    status: ItemStatus
    name: NonBlank
    category: Category
    department: str = Field(pattern=DEPARTMENT_CODE_PATTERN)
    legal_basis: NonBlank
    implementing_body: NonBlank
    materials: list[Material]
    statutory_limit_days: int = Field(ge=0, le=3650)
    promised_limit_days: int = Field(ge=0, le=3650)
    fees: list[Fee]
    flow: list[FlowStep]
    form_schema: dict[str, Any]
    discretion: list[DiscretionStandard]
    #: Decisions of this item are major (重大执法决定): legal review (法制审核) is mandatory
    #: before every decision. Only enforcement items (:data:`ENFORCEMENT_CATEGORIES`) have it.
    major_decision: bool = False
    risk_points: list[NonBlank] = Field(default_factory=list)
    #: The guide's practical part (办事指南): where to apply (办理地点, with office hours),
    #: whom to ask (咨询电话) and where to complain (监督电话); blank forms to download.
    place: str = Field(default="", max_length=300)
    contact_phone: Phone = ""
    supervision_phone: Phone = ""
    blank_forms: list[BlankForm] = Field(default_factory=list, max_length=10)

    @field_validator("promised_limit_days")
    @classmethod
    def _promised_within_statutory(cls, value: int, info: ValidationInfo) -> int:
        statutory = info.data.get("statutory_limit_days")
        if statutory is not None and value > statutory:
            raise located(f"must be ≤ statutory_limit_days ({statutory})", ())
        return value

    @field_validator("flow")
    @classmethod
    def _flow_valid(cls, steps: list[FlowStep], info: ValidationInfo) -> list[FlowStep]:
        try:
            validate_flow(steps)
        except FlowError as exc:
            raise located(str(exc), _flow_error_loc(str(exc), steps)) from exc
        statutory = info.data.get("statutory_limit_days")
        if statutory is None:
            return steps
        total = 0
        for index, step in enumerate(steps):
            total += step.limit_days
            # Point at the step where the running total first passes the legal limit.
            if total > statutory:
                raise located(
                    f"step limits add up to {sum(s.limit_days for s in steps)} days by the end, "
                    f"{total} by this step; more than statutory_limit_days ({statutory})",
                    (index, "limit_days"),
                )
        return steps

    @field_validator("form_schema")
    @classmethod
    def _form_schema_valid(cls, schema: dict[str, Any]) -> dict[str, Any]:
        check_form_schema(schema)
        return schema

    @field_validator("discretion")
    @classmethod
    def _discretion_iff_penalty(
        cls, standards: list[DiscretionStandard], info: ValidationInfo
    ) -> list[DiscretionStandard]:
        category = info.data.get("category")
        if category is None:
            return standards  # the category error is already reported
        if category is Category.PENALTY and not standards:
            raise located("a penalty item needs at least one discretion standard", ())
        if category is not Category.PENALTY and standards:
            raise located(
                f"only penalty items have discretion standards (category is {category.value!r})",
                (),
            )
        seen: set[str] = set()
        for index, standard in enumerate(standards):
            if standard.violation in seen:
                raise located(f"violation {standard.violation!r} appears twice",
                              (index, "violation"))
            seen.add(standard.violation)
        return standards

    @field_validator("major_decision")
    @classmethod
    def _major_only_for_enforcement(cls, value: bool, info: ValidationInfo) -> bool:
        category = info.data.get("category")
        if value and category is not None and category not in ENFORCEMENT_CATEGORIES:
            raise located(
                f"only enforcement items ({', '.join(c.value for c in _ENFORCEMENT_ORDER)}) "
                f"have major decisions (category is {category.value!r})",
                (),
            )
        return value

    @field_validator("blank_forms")
    @classmethod
    def _blank_forms_fit(cls, forms: list[BlankForm]) -> list[BlankForm]:
        return check_blank_forms(forms)

    @property
    def key(self) -> tuple[str, int]:
        """``(code, version)``, unique in a catalogue."""
        return (self.code, self.version)


def check_blank_forms(forms: list[BlankForm]) -> list[BlankForm]:
    """One item's blank forms: file names distinct, all together within
    :data:`MAX_BLANK_FORMS_BYTES` (raise a located error); returned unchanged."""
    seen: dict[str, int] = {}
    for index, form in enumerate(forms):
        if form.filename in seen:
            raise located(f"file name {form.filename!r} appears twice "
                          f"(also blank_forms[{seen[form.filename]}])", (index, "filename"))
        seen[form.filename] = index
    total = sum(len(f.content) for f in forms)
    if total > MAX_BLANK_FORMS_BYTES:
        raise located(f"the blank forms add up to {total} bytes, more than "
                      f"{MAX_BLANK_FORMS_BYTES} per item", ())
    return forms


class PublicGuide(BaseModel):
    """The guide's practical fields of a published item's document, checked by the rules
    of :class:`PowerItem` where the document travels on its own (the gateway's whitelist
    of ``catalogue.item``); the document's other fields are not looked at here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    place: str = Field(default="", max_length=300)
    contact_phone: Phone = ""
    supervision_phone: Phone = ""
    blank_forms: Annotated[list[BlankForm], Field(max_length=10),
                           AfterValidator(check_blank_forms)] = Field(default_factory=list)
    flow: list[FlowStep] = Field(default_factory=list)


def _flow_error_loc(message: str, steps: list[FlowStep]) -> tuple[str | int, ...]:
    """Point a :class:`FlowError` at the step it names (its messages are 1-based)."""
    if message.startswith("step "):
        position = message.split()[1]
        if position.isdigit():
            return (int(position) - 1, "kind")
    if "last two" in message and len(steps) >= 2:
        return (len(steps) - 2, "kind") if steps[-2].kind != "decide" else (len(steps) - 1, "kind")
    return ()


class Catalogue(BaseModel):
    """A site's whole catalogue: its departments and every version of every item."""

    model_config = _FROZEN

    departments: list[Department]
    items: list[PowerItem]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        for rel_loc, message in _catalogue_problems(self):
            raise located(message, rel_loc)
        return self

    def item(self, code: str, version: int | None = None) -> PowerItem:
        """One version of ``code``; by default the published one, else the latest.

        Raises :class:`KeyError` when there is no such item or version.
        """
        versions = [i for i in self.items if i.code == code]
        if not versions:
            raise KeyError(f"no item with code {code!r}")
        if version is not None:
            for candidate in versions:
                if candidate.version == version:
                    return candidate
            raise KeyError(f"item {code!r} has no version {version}")
        for candidate in versions:
            if candidate.status is ItemStatus.PUBLISHED:
                return candidate
        return max(versions, key=lambda i: i.version)

    def published(self) -> list[PowerItem]:
        """The items in force, one per code, in catalogue order."""
        return [i for i in self.items if i.status is ItemStatus.PUBLISHED]

    def departments_by_code(self) -> dict[str, Department]:
        """Departments keyed by their code."""
        return {d.code: d for d in self.departments}

    def versions(self, code: str) -> list[PowerItem]:
        """Every version of ``code``, oldest first (empty if the code is unknown)."""
        return sorted((i for i in self.items if i.code == code), key=lambda i: i.version)


def _catalogue_problems(cat: Catalogue) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Cross-item rules, each as (location in the catalogue, message)."""
    dept_seen: dict[str, int] = {}
    for index, dept in enumerate(cat.departments):
        if dept.code in dept_seen:
            yield ("departments", index, "code"), (
                f"department code {dept.code!r} appears twice "
                f"(also departments[{dept_seen[dept.code]}])"
            )
        dept_seen.setdefault(dept.code, index)
    key_seen: dict[tuple[str, int], int] = {}
    published_seen: dict[str, int] = {}
    for index, item in enumerate(cat.items):
        label = f"item {item.code!r} version {item.version}"
        if item.department not in dept_seen:
            yield ("items", index, "department"), (
                f"{label}: department {item.department!r} is not in departments"
            )
        if item.key in key_seen:
            yield ("items", index, "version"), (
                f"{label} appears twice (also items[{key_seen[item.key]}])"
            )
        key_seen.setdefault(item.key, index)
        if item.status is ItemStatus.PUBLISHED:
            if item.code in published_seen:
                other = cat.items[published_seen[item.code]].version
                yield ("items", index, "status"), (
                    f"{label}: code {item.code!r} already has published version {other}"
                )
            published_seen.setdefault(item.code, index)
