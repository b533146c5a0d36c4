"""Errors of catalogue import, each naming the place in the source it came from.

An import (YAML or Excel) stops at the first bad value but reports every problem it found:
the raised error describes the first, and ``all_problems`` lists them all, so an import
screen can show the whole list at once.

Example::

    >>> err = CatalogueImportError(
    ...     "must be ≤ statutory_limit_days (20)", source="excel", sheet="items", row=7,
    ...     column="promised_limit_days", column_letter="J")
    >>> str(err)
    'items!J7 (promised_limit_days): must be ≤ statutory_limit_days (20)'
    >>> yerr = CatalogueImportError("Input should be 'clerk', 'reviewer' or 'approver'",
    ...     source="yaml", row=120, column="role", path="items[3].flow[1].role")
    >>> str(yerr)
    "items[3].flow[1].role (line 120): Input should be 'clerk', 'reviewer' or 'approver'"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]
Source = Literal["yaml", "excel"]


class CatalogueImportError(ValueError):
    """A catalogue source could not be imported.

    ``row`` is 1-based: the Excel row number as Excel shows it, or the YAML line number.
    ``column`` is the field (Excel header) name; ``column_letter`` the Excel column letter.
    ``path`` is the YAML path (``items[3].flow[1].role``, indices 0-based), ``None`` for
    Excel. ``item`` names the item the problem is in (``320703-SCJGJ-XK-001 v2``) when it
    is in one whose code and version could be read.
    """

    def __init__(
        self,
        message: str,
        *,
        source: Source,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        column_letter: str | None = None,
        path: str | None = None,
        item: str | None = None,
    ) -> None:
        self.message = message
        self.source: Source = source
        self.sheet = sheet
        self.row = row
        self.column = column
        self.column_letter = column_letter
        self.path = path
        self.item = item
        self.all_problems: tuple[CatalogueImportError, ...] = (self,)
        super().__init__(self._render())

    @property
    def where(self) -> str:
        """The place alone, e.g. ``items!J7 (promised_limit_days)``."""
        if self.source == "yaml":
            place = self.path or "(document)"
            return f"{place} (line {self.row})" if self.row is not None else place
        place = self.sheet or "(workbook)"
        if self.column_letter is not None and self.row is not None:
            place = f"{place}!{self.column_letter}{self.row}"
        elif self.row is not None:
            place = f"{place}!row {self.row}"
        elif self.column_letter is not None:
            place = f"{place}!{self.column_letter}"
        if self.column is not None:
            place = f"{place} ({self.column})"
        return place

    def _render(self) -> str:
        item = f" (item {self.item})" if self.item else ""
        return f"{self.where}: {self.message}{item}"


def raise_all(problems: Sequence[CatalogueImportError]) -> None:
    """Raise the first problem, carrying all of them; do nothing when there are none."""
    if not problems:
        return
    first = problems[0]
    first.all_problems = tuple(problems)
    if len(problems) > 1:
        # The count goes into the text so a log line alone shows the import was worse.
        first.args = (f"{first.args[0]} (and {len(problems) - 1} more problem(s))",)
    raise first


def item_label(data: object, loc: Loc) -> str | None:
    """``"CODE vN"`` of the item ``loc`` points into, read from the raw ``data``; ``None``
    when ``loc`` is outside the items or the item's code cannot be read."""
    if len(loc) < 2 or loc[0] != "items" or not isinstance(loc[1], int):
        return None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or not 0 <= loc[1] < len(items):
        return None
    item = items[loc[1]]
    if not isinstance(item, dict) or not isinstance(item.get("code"), str):
        return None
    version = item.get("version")
    return f"{item['code']} v{version}" if isinstance(version, int) else str(item["code"])


def located(message: str, rel_loc: Loc, **context: Any) -> PydanticCustomError:
    """A validation error that points *below* the validator's own location.

    Pydantic places a field or model validator's error at the field or model; when the fault
    is a specific element (``bands[1].min_yuan``) or, for a catalogue-wide rule, a specific
    item, the relative location travels in the error context and :func:`problems` appends it.
    """
    return PydanticCustomError("catalogue_rule", message, {**context, "rel_loc": rel_loc})


def problems(exc: ValidationError) -> list[tuple[Loc, str]]:
    """Each error of ``exc`` as (full location, message), with :func:`located` resolved."""
    out: list[tuple[Loc, str]] = []
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        rel = ctx.get("rel_loc")
        if isinstance(rel, tuple):
            loc = loc + rel
        out.append((loc, _clean(err["msg"])))
    return out


def _clean(msg: str) -> str:
    # Pydantic prefixes errors raised as plain ValueError (e.g. FlowError) with this.
    return msg.removeprefix("Value error, ")
