"""Reading a catalogue workbook, remembering which cell every value came from.

Internal to :mod:`sunlight.catalogue.io_excel`. The reader turns rows into the nested
dictionaries the model validates, and records the row behind each model location, so a
pydantic error at ``("items", 4, "flow", 1, "role")`` becomes ``flow!E9 (role)``.

Example::

    >>> from openpyxl import Workbook
    >>> read_workbook(Workbook())
    Traceback (most recent call last):
    ...
    sunlight.catalogue.errors.CatalogueImportError: departments: missing sheet ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter
from pydantic import ValidationError

from sunlight.catalogue.errors import (
    CatalogueImportError,
    Loc,
    item_label,
    problems,
    raise_all,
)
from sunlight.catalogue.layout import (
    CHILD_FIELDS,
    KINDS,
    OPTIONAL_COLUMNS,
    OPTIONAL_SHEETS,
    SHEETS,
)
from sunlight.catalogue.model import Catalogue

_OMIT = object()  # a blank cell whose field then takes its default (or is reported missing)
_YES_NO = {"是": True, "否": False}


@dataclass
class _Row:
    sheet: str
    number: int  # as Excel shows it
    values: dict[str, Any]
    letters: dict[str, str] = field(repr=False)


def read_workbook(workbook: Any) -> Catalogue:
    """Validate an open workbook into a catalogue (see :mod:`~sunlight.catalogue.io_excel`)."""
    return _Reader().read(workbook)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[CatalogueImportError] = []
        self.origins: dict[Loc, _Row] = {}
        self.first_child: dict[tuple[int, str], _Row] = {}
        self.data: dict[str, Any] = {}

    def read(self, workbook: Any) -> Catalogue:
        rows = {name: self._sheet_rows(workbook, name) for name in SHEETS}
        raise_all(self.problems)
        data = self.data = self._build(rows)
        raise_all(self.problems)
        try:
            return Catalogue.model_validate(data)
        except ValidationError as exc:
            raise_all([self._place(loc, message) for loc, message in problems(exc)])
            raise AssertionError("unreachable: a ValidationError has errors") from exc

    # -- sheets and headers -------------------------------------------------------------

    def _sheet_rows(self, workbook: Any, name: str) -> list[_Row]:
        if name not in workbook.sheetnames:
            if name in OPTIONAL_SHEETS:
                return []
            self._problem(name, None, None, None,
                          f"missing sheet (the workbook needs: {', '.join(SHEETS)})")
            return []
        lines = workbook[name].iter_rows(values_only=True)
        indices, unnamed = self._headers(name, next(lines, ()) or ())
        letters = {title: get_column_letter(i + 1) for title, i in indices.items()}
        out: list[_Row] = []
        for number, values in enumerate(lines, start=2):
            if all(_blank(v) for v in values):
                continue  # blank rows between blocks are common in hand-made sheets
            for index in unnamed:
                if index < len(values) and not _blank(values[index]):
                    self._problem(name, number, None, get_column_letter(index + 1),
                                  "value in a column without a header")
            cells = {t: values[i] if i < len(values) else None for t, i in indices.items()}
            out.append(_Row(name, number, cells, letters))
        return out

    def _headers(self, name: str, header: tuple[Any, ...]) -> tuple[dict[str, int], list[int]]:
        indices: dict[str, int] = {}
        unnamed: list[int] = []
        for index, raw in enumerate(header):
            letter = get_column_letter(index + 1)
            if _blank(raw):
                unnamed.append(index)
                continue
            title = str(raw).strip()
            if title not in SHEETS[name]:
                self._problem(name, 1, title, letter,
                              f"unknown column; expected: {', '.join(SHEETS[name])}")
            elif title in indices:
                also = get_column_letter(indices[title] + 1)
                self._problem(name, 1, title, letter, f"column appears twice (also column {also})")
            else:
                indices[title] = index
        for title in SHEETS[name]:
            if title not in indices and (name, title) not in OPTIONAL_COLUMNS:
                self._problem(name, 1, title, None, "missing column")
        return indices, unnamed

    # -- rows into nested records -------------------------------------------------------

    def _build(self, rows: dict[str, list[_Row]]) -> dict[str, Any]:
        departments = []
        for j, row in enumerate(rows["departments"]):
            self.origins[("departments", j)] = row
            departments.append(self._record(row, SHEETS["departments"]))
        items: list[dict[str, Any]] = []
        index_by_key: dict[tuple[str, int], int] = {}
        for i, row in enumerate(rows["items"]):
            self.origins[("items", i)] = row
            record = self._record(row, SHEETS["items"])
            items.append({**record, **{f: [] for f in CHILD_FIELDS.values()}})
            key = self._key(row, "code", "version")
            if key is None:
                continue
            if key in index_by_key:
                other = rows["items"][index_by_key[key]].number
                self._problem_at(row, "version", f"item {key[0]!r} version {key[1]} appears "
                                                 f"twice (also row {other})")
            else:
                index_by_key[key] = i
        for sheet in ("materials", "fees", "flow"):
            self._attach_list(rows[sheet], sheet, items, index_by_key)
        self._attach_discretion(rows["discretion"], items, index_by_key)
        self._attach_blank_forms(rows["blank_forms"], items, index_by_key)
        return {"departments": departments, "items": items}

    def _attach_list(self, rows: list[_Row], sheet: str, items: list[dict[str, Any]],
                     index_by_key: dict[tuple[str, int], int]) -> None:
        target = CHILD_FIELDS[sheet]
        for row in rows:
            owner = self._owner(row, index_by_key)
            if owner is None:
                continue
            children: list[Any] = items[owner][target]
            self.origins[("items", owner, target, len(children))] = row
            self.first_child.setdefault((owner, target), row)
            children.append(self._record(row, SHEETS[sheet][2:]))

    def _attach_discretion(self, rows: list[_Row], items: list[dict[str, Any]],
                           index_by_key: dict[tuple[str, int], int]) -> None:
        # Band rows of one violation share violation and description; group them in order.
        for row in rows:
            owner = self._owner(row, index_by_key)
            if owner is None:
                continue
            standards: list[dict[str, Any]] = items[owner]["discretion"]
            violation = self._convert(row, "violation")
            description = self._convert(row, "description")
            s = next((k for k, st in enumerate(standards) if st["violation"] == violation), None)
            if s is None:
                s = len(standards)
                standards.append({"violation": violation, "description": description,
                                  "bands": []})
                self.origins[("items", owner, "discretion", s)] = row
                self.first_child.setdefault((owner, "discretion"), row)
            elif standards[s]["description"] != description:
                first = self.origins[("items", owner, "discretion", s)].number
                self._problem_at(row, "description",
                                 f"differs from the description of {violation!r} in row {first}")
            bands: list[Any] = standards[s]["bands"]
            self.origins[("items", owner, "discretion", s, "bands", len(bands))] = row
            bands.append(self._record(row, ("severity", "label", "min_yuan", "max_yuan")))

    def _attach_blank_forms(self, rows: list[_Row], items: list[dict[str, Any]],
                            index_by_key: dict[tuple[str, int], int]) -> None:
        # Part 1 starts a form; part n+1 of the same item and name continues its content.
        last: dict[tuple[int, Any], tuple[dict[str, Any], int]] = {}
        for row in rows:
            owner = self._owner(row, index_by_key)
            if owner is None:
                continue
            name, part = self._convert(row, "name"), _whole_number(row.values["part"])
            content = self._convert(row, "content")
            previous = last.get((owner, name))
            if part == 1:
                forms: list[Any] = items[owner]["blank_forms"]
                self.origins[("items", owner, "blank_forms", len(forms))] = row
                self.first_child.setdefault((owner, "blank_forms"), row)
                record = self._record(row, ("name", "filename", "content_type", "content"))
                forms.append(record)
                last[(owner, name)] = (record, 1)
            elif previous is not None and part == previous[1] + 1:
                record = previous[0]
                record["content"] = f"{record.get('content', '')}{content or ''}"
                last[(owner, name)] = (record, previous[1] + 1)
            else:
                expected = "1" if previous is None else f"1 or {previous[1] + 1}"
                self._problem_at(row, "part", f"must be {expected} for form {name!r}, not "
                                              f"{row.values['part']!r}")

    def _owner(self, row: _Row, index_by_key: dict[tuple[str, int], int]) -> int | None:
        key = self._key(row, "item_code", "item_version")
        if key is None:
            return None
        if key not in index_by_key:
            self._problem_at(row, "item_code",
                             f"no item {key[0]!r} version {key[1]} in sheet 'items'")
            return None
        return index_by_key[key]

    def _key(self, row: _Row, code_col: str, version_col: str) -> tuple[str, int] | None:
        code = self._convert(row, code_col)
        version = _whole_number(row.values[version_col])
        if version is None:
            self._problem_at(row, version_col, f"must be a whole number, not "
                                               f"{row.values[version_col]!r}")
            return None
        return (str(code), version)

    def _record(self, row: _Row, columns: tuple[str, ...]) -> dict[str, Any]:
        record = {}
        for column in columns:
            value = self._convert(row, column)
            if value is not _OMIT:
                record[column] = value
        return record

    def _convert(self, row: _Row, column: str) -> Any:
        """A cell's value as the model expects it (see :data:`~.layout.KINDS`)."""
        raw = row.values.get(column)  # None for an optional column left out
        kind = KINDS.get(column, "text")
        if kind == "text":
            return _text(raw)
        if _blank(raw):
            return {"optional_decimal": None, "json_list": []}.get(kind, _OMIT)
        if kind == "bool" and isinstance(raw, str) and raw.strip() in _YES_NO:
            return _YES_NO[raw.strip()]
        if kind in ("json", "json_list") and isinstance(raw, str):
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                self._problem_at(row, column, f"not valid JSON: {exc}")
                return _OMIT
        return raw

    # -- locations ----------------------------------------------------------------------

    def _place(self, loc: Loc, message: str) -> CatalogueImportError:
        """Map a model location to the cell (or row) it was read from."""
        error = self._cell(loc, message)
        error.item = item_label(self.data, loc)
        error.args = (error._render(),)
        return error

    def _cell(self, loc: Loc, message: str) -> CatalogueImportError:
        for cut in range(len(loc), 0, -1):
            row = self.origins.get(loc[:cut])
            if row is not None:
                break
        else:
            sheet = str(loc[0]) if loc else None
            return CatalogueImportError(message, source="excel", sheet=sheet)
        name = next((p for p in loc[cut:] if isinstance(p, str)), None)
        if name is not None and name in row.letters:
            return self._error_at(row, name, message)
        owner = loc[1] if cut == 2 and loc[0] == "items" else None
        if isinstance(owner, int) and name in CHILD_FIELDS.values():
            first = self.first_child.get((owner, str(name)))
            if first is not None:
                return CatalogueImportError(f"{name}: {message}", source="excel",
                                            sheet=first.sheet, row=first.number)
            # No rows at all: point at what demands them (a penalty needs discretion).
            column = "category" if name == "discretion" else "code"
            return self._error_at(row, column, f"no rows in sheet {name!r}: {message}")
        return CatalogueImportError(message, source="excel", sheet=row.sheet, row=row.number)

    def _error_at(self, row: _Row, column: str, message: str) -> CatalogueImportError:
        return CatalogueImportError(message, source="excel", sheet=row.sheet, row=row.number,
                                    column=column, column_letter=row.letters.get(column))

    def _problem_at(self, row: _Row, column: str, message: str) -> None:
        self.problems.append(self._error_at(row, column, message))

    def _problem(self, sheet: str, row: int | None, column: str | None, letter: str | None,
                 message: str) -> None:
        self.problems.append(CatalogueImportError(
            message, source="excel", sheet=sheet, row=row, column=column, column_letter=letter))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(raw: Any) -> Any:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return raw  # let the model reject it: TRUE in a text column is a slip, not text
    if isinstance(raw, int):
        return str(raw)  # codes typed as digits arrive as numbers
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return raw


def _whole_number(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None
