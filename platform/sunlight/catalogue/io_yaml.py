"""The catalogue as YAML: the human-editable form, kept in git.

The document is a mapping with ``departments`` and ``items``, in model field order.
Chinese stays readable (no escapes), amounts are plain numbers with two decimals
(``amount_yuan: 80.00``), and ``dump_yaml(load_yaml(text)) == text`` for any text that
``dump_yaml`` wrote. Every problem on load is reported with its path and line.

Example::

    >>> from sunlight.catalogue.model import Catalogue, Department
    >>> cat = Catalogue(departments=[Department(code="320703-WJW", name="连云区卫生健康委员会")],
    ...                 items=[])
    >>> text = dump_yaml(cat)
    >>> "连云区卫生健康委员会" in text and load_yaml(text) == cat
    True
    >>> load_yaml("departments: []\\nitems: 3\\n")
    Traceback (most recent call last):
    ...
    sunlight.catalogue.errors.CatalogueImportError: items (line 2): Input should be a valid list
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from typing import Any

import yaml
from pydantic import ValidationError

from sunlight.catalogue.errors import (
    CatalogueImportError,
    Loc,
    item_label,
    problems,
    raise_all,
)
from sunlight.catalogue.model import Catalogue

HEADER = (
    "# Sunlight power-item catalogue (行政权力事项库).\n"
    "# Edit by hand or round-trip through Excel; the schema is sunlight.catalogue.model.\n"
)

#: Widest one-line collection, in editor columns; longer ones are written in block style.
FLOW_WIDTH = 100


class _Dumper(yaml.SafeDumper):
    """Safe dumper that also writes Decimal (as a plain number) and Enum (as its value)."""

    def ignore_aliases(self, data: object) -> bool:
        # Forms often share sub-schemas; anchors (&id001) would make the file hard to edit.
        return True

    def represent_sequence(
        self, tag: str, sequence: Iterable[Any], flow_style: bool | None = None
    ) -> yaml.SequenceNode:
        node = super().represent_sequence(tag, sequence, flow_style)
        _fit(node, node.value)
        return node

    def represent_mapping(
        self, tag: str, mapping: Any, flow_style: bool | None = None
    ) -> yaml.MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style)
        _fit(node, [part for pair in node.value for part in pair])
        return node


def _fit(node: yaml.CollectionNode, children: list[yaml.Node]) -> None:
    """Keep a collection of scalars on one line ``{a: 1, b: 2}`` only while it stays short."""
    if not node.flow_style:
        return
    width = sum(_display_width(str(c.value)) + 2 for c in children)
    if width > FLOW_WIDTH:
        node.flow_style = False


def _display_width(text: str) -> int:
    # CJK characters take two columns in an editor.
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # A plain float scalar reads back as float; the model re-quantises it to two places, and
    # two-decimal amounts below 10^12 survive float exactly.
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


def _represent_enum(dumper: yaml.SafeDumper, value: Enum) -> yaml.ScalarNode:
    return dumper.represent_str(str(value.value))


_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_multi_representer(Enum, _represent_enum)


def dump_yaml(cat: Catalogue) -> str:
    """The catalogue as YAML text (block style, UTF-8 Chinese, model field order)."""
    body = yaml.dump(
        cat.model_dump(mode="python", exclude_defaults=True),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
        width=1_000,
        indent=2,
    )
    return HEADER + body


def load_yaml(text: str) -> Catalogue:
    """Parse and validate; raise :class:`CatalogueImportError` naming path and line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogueImportError(f"not valid YAML: {problem}", source="yaml",
                                   row=line) from exc
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        found = [
            CatalogueImportError(message, source="yaml", row=_line_of(root, loc),
                                 column=_field_of(loc), path=format_path(loc),
                                 item=item_label(data, loc))
            for loc, message in problems(exc)
        ]
        raise_all(found)
        raise AssertionError("unreachable: a ValidationError has errors") from exc


def format_path(loc: Loc) -> str:
    """``("items", 3, "flow", 1, "role")`` → ``items[3].flow[1].role``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _field_of(loc: Loc) -> str | None:
    return next((p for p in reversed(loc) if isinstance(p, str)), None)


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node on ``loc`` that exists in the document."""
    node = root
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                found: yaml.Node = value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(
        node.value
    ):
        element: yaml.Node = node.value[part]
        return element
    return None

