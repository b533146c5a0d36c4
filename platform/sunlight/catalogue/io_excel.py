"""The catalogue as an Excel workbook: the form departments fill in and send back.

One sheet per table, each with a header row of field names (Chinese in the header
comments): ``departments``, ``items``, ``materials``, ``fees``, ``flow``, ``discretion``
(one row per band) and ``blank_forms`` (格式文书: the file as base64, over several rows,
``part`` 1, 2 ..., when it is longer than a cell). Child rows name their item by
``item_code`` and ``item_version``; their order within an item is the row order.
``form_schema`` and ``risk_points`` are JSON text in one cell; ``major_decision``
(重大执法决定) is TRUE/FALSE; it, ``place``, ``contact_phone``, ``supervision_phone`` and
the ``blank_forms`` sheet may be left out of older workbooks (false, blank, none). The
workbook round-trips exactly with YAML.
Every problem on load names its sheet, row, column letter and header, e.g.
``items!J7 (promised_limit_days): must be ≤ statutory_limit_days (20)``.

Example::

    >>> import tempfile, pathlib
    >>> from sunlight.catalogue import sample_catalogue
    >>> cat = sample_catalogue()
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "catalogue.xlsx"
    >>> dump_excel(cat, path)
    >>> load_excel(path) == cat
    True
"""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from os import PathLike
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from sunlight.catalogue._excel_read import read_workbook
from sunlight.catalogue.errors import CatalogueImportError
from sunlight.catalogue.layout import BASE64_CELL_CHARS, HEADER_ZH, SHEETS
from sunlight.catalogue.model import Catalogue, PowerItem

#: Excel's limit on the characters in one cell.
MAX_CELL_CHARS = 32_767

__all__ = ["SHEETS", "dump_excel", "load_excel"]


def load_excel(path: str | PathLike[str]) -> Catalogue:
    """Read and validate a workbook; raise :class:`CatalogueImportError` naming the cell.

    A missing or unreadable file raises :class:`OSError` as usual.
    """
    try:
        workbook = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as exc:
        raise CatalogueImportError(f"not an Excel .xlsx workbook: {exc}",
                                   source="excel") from exc
    try:
        return read_workbook(workbook)
    finally:
        workbook.close()


def dump_excel(cat: Catalogue, path: str | PathLike[str]) -> None:
    """Write ``cat`` to ``path`` as an .xlsx workbook (overwriting it)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets = {name: _new_sheet(workbook, name, headers) for name, headers in SHEETS.items()}
    for dept in cat.departments:
        _append(sheets["departments"], [dept.code, dept.name])
    for item in cat.items:
        _append_item(sheets, item)
    workbook.save(path)


def _new_sheet(workbook: Workbook, name: str, headers: tuple[str, ...]) -> Any:
    sheet = workbook.create_sheet(name)
    for col, header in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=col, value=header)
        cell.font = Font(bold=True)
        cell.comment = Comment(HEADER_ZH[header], "sunlight")
        sheet.column_dimensions[get_column_letter(col)].width = max(12, len(header) + 4)
    sheet.freeze_panes = "A2"
    return sheet


def _append_item(sheets: dict[str, Any], item: PowerItem) -> None:
    key = [item.code, item.version]
    _append(sheets["items"], [
        item.code, item.version, item.status.value, item.name, item.category.value,
        item.department, item.legal_basis, item.implementing_body,
        item.statutory_limit_days, item.promised_limit_days,
        _json_cell(item.form_schema, item, "form_schema"),
        _json_cell(item.risk_points, item, "risk_points"), item.major_decision,
        item.place, item.contact_phone, item.supervision_phone,
    ])
    for material in item.materials:
        _append(sheets["materials"], [*key, material.name, material.required, material.note])
    for fee in item.fees:
        _append(sheets["fees"], [*key, fee.name, fee.amount_yuan, fee.basis])
    for step in item.flow:
        _append(sheets["flow"], [*key, step.kind, step.name, step.role, step.limit_days])
    for standard in item.discretion:
        for band in standard.bands:
            _append(sheets["discretion"], [
                *key, standard.violation, standard.description, band.severity, band.label,
                band.min_yuan, band.max_yuan,
            ])
    for form in item.blank_forms:
        text = base64.b64encode(form.content).decode("ascii")
        for part, start in enumerate(range(0, len(text), BASE64_CELL_CHARS), start=1):
            _append(sheets["blank_forms"], [
                *key, form.name, form.filename if part == 1 else "",
                form.content_type if part == 1 else "", part,
                text[start:start + BASE64_CELL_CHARS],
            ])


def _json_cell(value: object, item: PowerItem, field: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_CELL_CHARS:
        raise ValueError(
            f"item {item.code!r} version {item.version}: {field} is {len(text)} characters "
            f"as JSON, more than an Excel cell holds ({MAX_CELL_CHARS})"
        )
    return text


def _append(sheet: Any, values: Iterable[object]) -> None:
    row = sheet.max_row + 1
    for col, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=col, value=value)
        if isinstance(value, str) and value.startswith("="):
            # Text that looks like a formula must stay text, or Excel would evaluate it.
            cell.data_type = "s"
        elif isinstance(value, Decimal):
            cell.number_format = "0.00"
