"""The officer registry (执法人员库): who may enforce what, and until when.

Each :class:`Officer` has a certificate number (执法证号, unique in the registry), a name,
the department (部门) the certificate was issued for, the powers or areas they may enforce
— item codes and/or categories of the enforcement kind (penalty, coercion, levy,
inspection; by value or Chinese name) — and the dates the certificate is valid, both
included. An officer covers an item of their own department that is listed by code or
whose category is listed.

The registry is a YAML file kept by the site (or a workbook departments fill in)::

    # Sunlight officer registry (执法人员库).
    officers:
    - certificate: '32070300101'
      name: 王强
      department: 320703-SCJGJ
      categories: [penalty, inspection]
      valid_from: 2024-01-01
      valid_to: 2026-12-31
    - certificate: 苏A0203
      name: 李娜
      department: 320703-GAFJ
      items: [320703-GAFJ-CF-001]
      valid_from: 2025-03-01
      valid_to: 2028-02-29

Dates are ``YYYY-MM-DD``; a certificate number made only of digits is quoted (YAML would
read it as a number and drop leading zeros). The workbook has one sheet ``officers`` with
the columns :data:`COLUMNS`; ``items`` and ``categories`` list several values separated by
commas, ``、`` or spaces; dates are date cells or ``YYYY-MM-DD`` text.

A source is imported **as a whole or refused as a whole**: every problem of every row — a
duplicate certificate, an end date before the start, a department code of the wrong format
(or, given ``known_departments``, not of this site), a bad date, an unknown category or
(given ``known_items``) item — is collected and raised as one
:class:`RegistryImportError` naming the row (Excel row or YAML line) and the field, with the
others in ``all_problems``. :func:`dump_registry` writes the stable YAML
(``dump_registry(load_registry(text)) == text`` for any text it wrote).

:func:`qualified` answers whether an officer may act on an item on a day (unknown, expired,
not yet valid or out of area, with the reason), :func:`expiring` lists the certificates
that end within the next 30 days (for the alert).

Example::

    >>> from datetime import date
    >>> from sunlight.catalogue import sample_catalogue
    >>> registry = load_registry(sample_registry_text())
    >>> item = sample_catalogue().item("320703-SCJGJ-CF-002")
    >>> bool(qualified(registry, "32070300101", item, date(2026, 3, 2)))
    True
    >>> print(qualified(registry, "32070300101", item, date(2027, 1, 4)).reason)
    certificate 32070300101 (王强) expired on 2026-12-31; it was valid 2024-01-01 to 2026-12-31
    >>> qualified(registry, "32070399999", item, date(2026, 3, 2)).why
    'unknown'
    >>> [o.certificate for o in expiring(registry, date(2026, 12, 1))]
    ['32070300101']
    >>> try:
    ...     load_registry("officers:\\n- {certificate: 'X001', name: 张三, department: SCJGJ,\\n"
    ...                   "   categories: [penalty], valid_from: 2026-01-01,\\n"
    ...                   "   valid_to: 2025-12-31}\\n")
    ... except RegistryImportError as exc:
    ...     found = exc.all_problems
    >>> [problem.where for problem in found]
    ['officers[0].department (line 2)', 'officers[0].valid_to (line 4)']
    >>> found[1].message
    'ends on 2025-12-31, before it starts (valid_from 2026-01-01)'
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib.resources import files
from os import PathLike
from typing import Annotated, Any, Literal

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sunlight.catalogue.errors import CatalogueImportError, Loc, located, problems, raise_all
from sunlight.catalogue.io_yaml import format_path
from sunlight.catalogue.model import (
    DEPARTMENT_CODE_PATTERN,
    ENFORCEMENT_CATEGORIES,
    ITEM_CODE_PATTERN,
    Category,
    PowerItem,
)

__all__ = [
    "COLUMNS",
    "EXPIRY_WARNING_DAYS",
    "HEADER",
    "SAMPLE_RESOURCE",
    "SHEET",
    "Officer",
    "OfficerRegistry",
    "Qualification",
    "RegistryImportError",
    "dump_registry",
    "dump_registry_excel",
    "expired",
    "expiring",
    "load_registry",
    "load_registry_excel",
    "normalise_certificate",
    "qualified",
    "sample_registry_text",
]

HEADER = (
    "# Sunlight officer registry (执法人员库).\n"
    "# The schema is sunlight.enforcement.officers; a file is imported as a whole or refused\n"
    "# as a whole.\n"
)
#: The sample registry of 连云区 shipped with the package (``sunlight/enforcement/…``).
SAMPLE_RESOURCE = ("sample", "officers.yaml")
#: Certificates ending within this many days are listed for the alert.
EXPIRY_WARNING_DAYS = 30
SHEET = "officers"
COLUMNS: tuple[str, ...] = ("certificate", "name", "department", "items", "categories",
                            "valid_from", "valid_to")
HEADER_ZH: dict[str, str] = {
    "certificate": "执法证号",
    "name": "姓名",
    "department": "所属部门编码（如 320703-SCJGJ）",
    "items": "可执法事项编码（多个以逗号或顿号分隔）",
    "categories": "可执法权力类别（行政处罚/行政强制/行政征收/行政检查，或英文代码）",
    "valid_from": "证件有效期起（YYYY-MM-DD）",
    "valid_to": "证件有效期止（YYYY-MM-DD）",
}
#: Letters (CJK too, e.g. the province's abbreviation 苏), digits and hyphens.
CERTIFICATE_PATTERN = r"^[0-9A-Z\u4e00-\u9fff][0-9A-Z\u4e00-\u9fff-]{2,31}$"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LIST_SEPARATORS = re.compile(r"[,，、;；\s]+")
_FROZEN = ConfigDict(extra="forbid", frozen=True)


def normalise_certificate(value: str) -> str:
    """A certificate number as the registry stores it: NFKC, trimmed, upper case.

    >>> normalise_certificate(" ３２０７０３００１０１ ")
    '32070300101'
    """
    return unicodedata.normalize("NFKC", value).strip().upper()


def _certificate(value: object) -> object:
    if isinstance(value, bool):
        return value  # the model refuses it as not text
    if isinstance(value, int):
        raise ValueError(f"a certificate number is text: quote it in YAML ('{value}')")
    if isinstance(value, str):
        return normalise_certificate(value)
    return value


def _iso_date(value: object) -> object:
    if isinstance(value, datetime):
        if value.time() != time(0) or value.tzinfo is not None:
            raise ValueError(f"a date without a time of day (YYYY-MM-DD), not {value}")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a date: {value.strip()!r} ({exc})") from None
    raise ValueError(f"not a date: {value!r}; write YYYY-MM-DD")


Certificate = Annotated[str, BeforeValidator(_certificate), Field(pattern=CERTIFICATE_PATTERN)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
ItemCode = Annotated[str, Field(pattern=ITEM_CODE_PATTERN)]
NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]


class Officer(BaseModel):
    """One enforcement officer's certificate (执法证)."""

    model_config = _FROZEN

    certificate: Certificate
    name: NonBlank
    department: str
    items: tuple[ItemCode, ...] = ()
    categories: tuple[Category, ...] = ()
    valid_from: IsoDate
    valid_to: IsoDate

    @field_validator("department")
    @classmethod
    def _department_code(cls, value: str) -> str:
        if not re.fullmatch(DEPARTMENT_CODE_PATTERN, value):
            raise located("not a department code: the six-digit division code, '-' and the "
                          f"department's abbreviation (e.g. 320703-SCJGJ), not {value!r}", ())
        return value

    @field_validator("categories")
    @classmethod
    def _enforcement_categories(cls, values: tuple[Category, ...]) -> tuple[Category, ...]:
        for index, category in enumerate(values):
            if category not in ENFORCEMENT_CATEGORIES:
                raise located(f"{category.value!r} ({category.zh}) is not enforced by officers; "
                              "penalty, coercion, levy or inspection", (index,))
        return values

    @field_validator("valid_to")
    @classmethod
    def _ends_after_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("valid_from")
        if start is not None and value < start:
            raise located(f"ends on {value}, before it starts (valid_from {start})", ())
        return value

    @model_validator(mode="after")
    def _has_an_area(self) -> Officer:
        if not self.items and not self.categories:
            raise located("list the items or categories the officer may enforce", ())
        return self

    def covers(self, item: PowerItem) -> bool:
        """Whether ``item`` is in the officer's area (department, and code or category)."""
        return item.department == self.department and (
            item.code in self.items or item.category in self.categories)

    def valid_on(self, day: date) -> bool:
        """Whether the certificate is valid on ``day`` (both ends included)."""
        return self.valid_from <= day <= self.valid_to

    @property
    def area(self) -> str:
        """The area in words: ``行政处罚, 行政检查; items 320703-GAFJ-CF-001``."""
        parts = [", ".join(c.zh for c in self.categories)] if self.categories else []
        if self.items:
            parts.append("items " + ", ".join(self.items))
        return "; ".join(parts)


class OfficerRegistry(BaseModel):
    """Every officer of a site; certificate numbers are unique."""

    model_config = _FROZEN

    officers: tuple[Officer, ...] = ()

    @field_validator("officers")
    @classmethod
    def _unique(cls, officers: tuple[Officer, ...]) -> tuple[Officer, ...]:
        seen: dict[str, int] = {}
        for index, officer in enumerate(officers):
            if officer.certificate in seen:
                raise located(f"certificate {officer.certificate!r} appears twice "
                              f"(also officers[{seen[officer.certificate]}])",
                              (index, "certificate"))
            seen[officer.certificate] = index
        return officers

    def get(self, certificate: str) -> Officer | None:
        """The officer with this certificate number (normalised as on import), or None."""
        wanted = _certificate(certificate)
        return next((o for o in self.officers if o.certificate == wanted), None)

    def qualified(self, certificate: str, item: PowerItem, on: date) -> Qualification:
        """See :func:`qualified`."""
        return qualified(self, certificate, item, on)


@dataclass(frozen=True)
class Qualification:
    """Whether an officer may act on an item on a day; true only when ``why == "ok"``.

    ``why`` is ``"ok"``, ``"unknown"``, ``"expired"``, ``"not_yet_valid"`` or
    ``"out_of_area"``; ``reason`` says it in a sentence (empty when ok).
    """

    certificate: str
    why: Literal["ok", "unknown", "expired", "not_yet_valid", "out_of_area"]
    reason: str = ""
    officer: Officer | None = None

    def __bool__(self) -> bool:
        return self.why == "ok"


def qualified(registry: OfficerRegistry, certificate: str, item: PowerItem,
              on: date) -> Qualification:
    """May the officer with ``certificate`` act on ``item`` on ``on``? (执法资格)

    Checked in this order: in the registry, certificate valid that day, the item in the
    officer's area (the officer's department holds it, and its code or category is listed).
    """
    officer = registry.get(certificate)
    if officer is None:
        return Qualification(str(certificate), "unknown",
                             f"officer {certificate}: not in the officer registry (执法人员库)")
    who = f"certificate {officer.certificate} ({officer.name})"
    span = f"it was valid {officer.valid_from} to {officer.valid_to}"
    if on > officer.valid_to:
        return Qualification(officer.certificate, "expired",
                             f"{who} expired on {officer.valid_to}; {span}", officer)
    if on < officer.valid_from:
        return Qualification(officer.certificate, "not_yet_valid",
                             f"{who} is valid from {officer.valid_from}, not yet on {on}",
                             officer)
    if item.department != officer.department:
        return Qualification(
            officer.certificate, "out_of_area",
            f"{who} is an officer of {officer.department}; item {item.code} belongs to "
            f"{item.department}", officer)
    if not officer.covers(item):
        return Qualification(
            officer.certificate, "out_of_area",
            f"{who} may enforce {officer.area}; not item {item.code} ({item.category.zh})",
            officer)
    return Qualification(officer.certificate, "ok", "", officer)


def expiring(registry: OfficerRegistry, on: date,
             within_days: int = EXPIRY_WARNING_DAYS) -> list[Officer]:
    """Certificates still valid on ``on`` that end within ``within_days`` days (the end day
    included), soonest first — the list behind the expiry alert."""
    if within_days < 0:
        raise ValueError(f"within_days must be 0 or more, got {within_days}")
    until = on + timedelta(days=within_days)
    return sorted((o for o in registry.officers if o.valid_from <= on <= o.valid_to <= until),
                  key=lambda o: (o.valid_to, o.certificate))


def expired(registry: OfficerRegistry, on: date) -> list[Officer]:
    """Certificates that ended before ``on``, most recently ended first."""
    return sorted((o for o in registry.officers if o.valid_to < on),
                  key=lambda o: (o.valid_to, o.certificate), reverse=True)


def sample_registry_text() -> str:
    """The sample registry of 连云区 (320703), as shipped."""
    return files("sunlight.enforcement").joinpath(*SAMPLE_RESOURCE).read_text(encoding="utf-8")


# -- errors -------------------------------------------------------------------------------


class RegistryImportError(CatalogueImportError):
    """An officer registry source was refused; like the catalogue's import errors it names
    the place — ``officers[2].valid_to (line 9)`` or ``officers!G4 (valid_to)`` — and lists
    every problem in ``all_problems``."""


# -- YAML ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe loader that leaves dates as text, so a bad date is a field's error, not the
    file's (PyYAML would fail the whole document on ``2026-02-30``)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_registry(text: str, *, known_departments: Collection[str] | None = None,
                  known_items: Collection[str] | None = None) -> OfficerRegistry:
    """Parse and check a registry file; :class:`RegistryImportError` naming path and line.

    ``known_departments`` and ``known_items``, when given, are what an officer may name
    (the site's catalogue).
    """
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise RegistryImportError(f"not valid YAML: {problem}", source="yaml",
                                  row=mark.line + 1 if mark is not None else None) from exc
    root = yaml.compose(text, Loader=_Loader)
    found: list[tuple[Loc, str]] = []
    rows: list[Any] = []
    if not isinstance(data, dict):
        found.append(((), "the registry is a mapping with the key 'officers'"))
    else:
        for key in data:
            if key != "officers":
                found.append(((str(key),), "unknown key; the registry has only 'officers'"))
        listed = data.get("officers", [])
        if not isinstance(listed, list):
            found.append((("officers",), "a list of officers"))
        else:
            rows = listed
    officers = _check_rows(rows, found, known_departments, known_items,
                           lambda index: f"officers[{index}]")
    raise_all([RegistryImportError(message, source="yaml", row=_line_of(root, loc),
                                   column=_field_of(loc), path=format_path(loc) or None)
               for loc, message in sorted(found, key=lambda p: _order(root, p[0]))])
    return OfficerRegistry(officers=tuple(officers))


def dump_registry(registry: OfficerRegistry) -> str:
    """The registry as stable YAML: header, model field order, UTF-8 Chinese."""
    doc = {"officers": [officer.model_dump(mode="python", exclude_defaults=True)
                        for officer in registry.officers]}
    body = yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=None, width=1_000, indent=2)
    return HEADER + body


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True

    def represent_mapping(self, tag: str, mapping: Any,
                          flow_style: bool | None = None) -> yaml.MappingNode:
        # Officers in block style; their lists of items and categories on one line.
        return super().represent_mapping(tag, mapping, flow_style=False)


_Dumper.add_representer(Category, lambda dumper, value: dumper.represent_str(value.value))
_Dumper.add_representer(tuple, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))


def _order(root: yaml.Node | None, loc: Loc) -> tuple[int, str]:
    return (_line_of(root, loc) or 0, format_path(loc))


def _field_of(loc: Loc) -> str | None:
    return next((part for part in reversed(loc) if isinstance(part, str)), None)


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node on ``loc`` in the document."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = next((value for key, value in node.value
                          if isinstance(key, yaml.ScalarNode) and key.value == part), None)
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


# -- rows, shared by YAML and Excel -------------------------------------------------------


def _check_rows(rows: Sequence[Any], found: list[tuple[Loc, str]],
                known_departments: Collection[str] | None,
                known_items: Collection[str] | None,
                name_row: Any) -> list[Officer]:
    """Validate every row on its own, then across rows; append ``(loc, message)`` problems
    (loc from ``("officers", index, ...)``) and return the officers that passed."""
    officers: list[Officer] = []
    first_seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        base: Loc = ("officers", index)
        if not isinstance(row, dict):
            found.append((base, "an officer is a mapping of fields"))
            continue
        try:
            certificate = _certificate(row.get("certificate"))
        except ValueError:
            certificate = None  # the model reports it
        if isinstance(certificate, str) and certificate:
            if certificate in first_seen:
                found.append(((*base, "certificate"),
                              f"certificate {certificate!r} appears twice "
                              f"(also {name_row(first_seen[certificate])})"))
            else:
                first_seen[certificate] = index
        try:
            officer = Officer.model_validate(row)
        except ValidationError as exc:
            found.extend(((*base, *_tidy(loc)), message) for loc, message in problems(exc))
            continue
        found.extend(((*base, *loc), message)
                     for loc, message in _unknown(officer, known_departments, known_items))
        officers.append(officer)
    return officers


def _tidy(loc: Loc) -> Loc:
    # An error of the whole officer (no items nor categories) belongs to its scope fields.
    return loc if loc else ("categories",)


def _unknown(officer: Officer, known_departments: Collection[str] | None,
             known_items: Collection[str] | None) -> Iterator[tuple[Loc, str]]:
    if known_departments is not None and officer.department not in known_departments:
        yield (("department",),
               f"department {officer.department!r} is not a department of this site")
    if known_items is not None:
        for position, code in enumerate(officer.items):
            if code not in known_items:
                yield (("items", position),
                       f"unknown item code {code!r}: not in this site's catalogue")


# -- Excel --------------------------------------------------------------------------------


def load_registry_excel(path: str | PathLike[str], *,
                        known_departments: Collection[str] | None = None,
                        known_items: Collection[str] | None = None) -> OfficerRegistry:
    """Read and check a workbook; :class:`RegistryImportError` naming sheet, row and column.

    A missing or unreadable file raises :class:`OSError` as usual.
    """
    try:
        workbook = load_workbook(path, data_only=True, read_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        raise RegistryImportError(f"not an Excel .xlsx workbook: {exc}", source="excel") from exc
    try:
        if SHEET not in workbook.sheetnames:
            raise RegistryImportError(f"missing sheet (the workbook needs: {SHEET})",
                                      source="excel", sheet=SHEET)
        lines = list(workbook[SHEET].iter_rows(values_only=True))
    finally:
        workbook.close()
    header = lines[0] if lines else ()
    columns, header_problems = _headers(header)
    raise_all(header_problems)
    numbers: list[int] = []
    rows: list[dict[str, Any]] = []
    for number, values in enumerate(lines[1:], start=2):
        if all(_blank(v) for v in values):
            continue
        numbers.append(number)
        rows.append({title: _cell(title, values[i] if i < len(values) else None)
                     for title, i in columns.items()})
    rows = [{key: value for key, value in row.items() if value is not _OMIT} for row in rows]
    found: list[tuple[Loc, str]] = []
    officers = _check_rows(rows, found, known_departments, known_items,
                           lambda index: f"row {numbers[index]}")
    letters = {title: get_column_letter(i + 1) for title, i in columns.items()}
    refused = []
    for loc, message in found:
        row = numbers[loc[1]] if len(loc) > 1 and isinstance(loc[1], int) else None
        column = next((p for p in loc[2:] if isinstance(p, str)), None)
        refused.append(RegistryImportError(message, source="excel", sheet=SHEET, row=row,
                                           column=column,
                                           column_letter=letters.get(column or "")))
    raise_all(sorted(refused, key=lambda p: (p.row or 0, COLUMNS.index(p.column)
                                               if p.column in COLUMNS else 0)))
    return OfficerRegistry(officers=tuple(officers))


def dump_registry_excel(registry: OfficerRegistry, path: str | PathLike[str]) -> None:
    """Write the registry as a workbook of one sheet (overwriting ``path``)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    for col, title in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=col, value=title)
        cell.font = Font(bold=True)
        cell.comment = Comment(HEADER_ZH[title], "sunlight")
        sheet.column_dimensions[get_column_letter(col)].width = max(14, len(title) + 4)
    sheet.freeze_panes = "A2"
    for row, officer in enumerate(registry.officers, start=2):
        values: Iterable[object] = (
            officer.certificate, officer.name, officer.department, "、".join(officer.items),
            "、".join(c.zh for c in officer.categories), officer.valid_from, officer.valid_to)
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=col, value=value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            else:
                cell.data_type = "s"  # text stays text, even '=...' or digits
    workbook.save(path)


_OMIT = object()


def _headers(header: Sequence[Any]) -> tuple[dict[str, int], list[RegistryImportError]]:
    columns: dict[str, int] = {}
    found: list[RegistryImportError] = []
    for index, raw in enumerate(header):
        if _blank(raw):
            continue
        title, letter = str(raw).strip(), get_column_letter(index + 1)
        if title not in COLUMNS:
            found.append(RegistryImportError(f"unknown column; expected: {', '.join(COLUMNS)}",
                                             source="excel", sheet=SHEET, row=1, column=title,
                                             column_letter=letter))
        elif title in columns:
            found.append(RegistryImportError(
                f"column appears twice (also column {get_column_letter(columns[title] + 1)})",
                source="excel", sheet=SHEET, row=1, column=title, column_letter=letter))
        else:
            columns[title] = index
    for title in COLUMNS:
        if title not in columns:
            found.append(RegistryImportError("missing column", source="excel", sheet=SHEET,
                                             row=1, column=title))
    return columns, found


def _cell(title: str, raw: Any) -> Any:
    """A cell's value as the model takes it."""
    if title in ("items", "categories"):
        if _blank(raw):
            return _OMIT
        return tuple(part for part in _LIST_SEPARATORS.split(str(raw).strip()) if part)
    if _blank(raw):
        return _OMIT  # the model reports the field as missing
    # Digits typed into a cell arrive as a number.
    if title == "certificate" and not isinstance(raw, bool) and (
            isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())):
        return str(int(raw))
    return raw


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
