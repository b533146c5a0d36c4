"""An item's application form as labelled fields, read back from a web form, and checked
with messages in Chinese — all from the item's JSON Schema (:mod:`.forms`).

The schema is the one set of rules: :func:`fields_of` turns it into fields a page draws
(text, number, date, e-mail, a choice, several choices, yes/no, and a list of groups such as
a company's shareholders), :func:`read_form` turns what a browser posts back into the JSON
the schema describes, and :func:`form_errors` validates that JSON with the same validator
the portal's API uses (:func:`validator`), each error in Chinese under the field it
belongs to. Field names in the web form are ``f.<property>`` (and ``f.<list>.<row>.<property>``
inside a list), so they never clash with the page's own fields.

Example::

    >>> schema = {"type": "object", "properties": {
    ...     "name": {"type": "string", "title": "企业名称", "maxLength": 4},
    ...     "staff": {"type": "integer", "title": "从业人数", "minimum": 1}},
    ...     "required": ["name"]}
    >>> [(f.name, f.label, f.kind, f.required) for f in fields_of(schema)]
    [('f.name', '企业名称', 'text', True), ('f.staff', '从业人数', 'integer', False)]
    >>> form, errors = read_form(schema, {"f.name": "连云港海州湾", "f.staff": "三"})
    >>> form, errors
    ({'name': '连云港海州湾'}, {'f.staff': '请输入整数'})
    >>> form_errors(schema, form)
    {'f.name': '最多 4 个字符'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

FieldKind = Literal["text", "textarea", "email", "date", "number", "integer", "select",
                    "checkboxes", "boolean", "group"]
PREFIX = "f"
#: A list of groups is shown with this many rows (filled rows are kept; blank ones ignored).
GROUP_ROWS = 3
_TEXTAREA_FROM = 300  # a string allowed this long or longer gets a text area
_NUMBER = re.compile(r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$")


@dataclass(frozen=True)
class FormField:
    """One field of the form: its web name, label, kind, whether it is required, its
    choices (value, label), a hint, and the fields of one row when it is a ``group``."""

    name: str
    label: str
    kind: FieldKind
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    maxlength: int = 0
    children: tuple[FormField, ...] = field(default=())
    rows: int = 0


def validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """The validator of a form schema (draft 2020-12, formats checked): the same for the
    API and the pages."""
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def fields_of(schema: Mapping[str, Any]) -> list[FormField]:
    """The fields of a form schema, in the schema's property order."""
    return _fields(schema, PREFIX)


def _fields(schema: Mapping[str, Any], prefix: str) -> list[FormField]:
    required = set(schema.get("required", []))
    out = []
    for prop, sub in schema.get("properties", {}).items():
        if isinstance(sub, Mapping):
            out.append(_field(f"{prefix}.{prop}", prop, sub, prop in required))
    return out


def _field(name: str, prop: str, sub: Mapping[str, Any], required: bool) -> FormField:
    label = str(sub.get("title") or prop)
    kind = sub.get("type")
    if kind == "array":
        items = sub.get("items", {})
        if isinstance(items, Mapping) and "enum" in items:
            return FormField(name, label, "checkboxes", required, _options(items["enum"]),
                             _array_hint(sub))
        if isinstance(items, Mapping) and items.get("type") == "object":
            rows = max(GROUP_ROWS, int(sub.get("minItems", 1)))
            return FormField(name, label, "group", required, hint=_array_hint(sub),
                             children=tuple(_fields(items, "")), rows=rows)
        return FormField(name, label, "textarea", required, hint="每行一项")
    if "enum" in sub:
        return FormField(name, label, "select", required, _options(sub["enum"]))
    if kind == "boolean":
        return FormField(name, label, "boolean", required, (("true", "是"), ("false", "否")))
    if kind in ("integer", "number"):
        return FormField(name, label, kind, required, hint=_range_hint(sub))
    fmt = sub.get("format")
    if fmt in ("date", "email"):
        return FormField(name, label, fmt, required)
    longest = int(sub.get("maxLength", 0))
    text_kind: FieldKind = "textarea" if longest >= _TEXTAREA_FROM else "text"
    return FormField(name, label, text_kind, required, hint=_text_hint(sub), maxlength=longest)


def _options(values: list[Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(v), str(v)) for v in values)


def _range_hint(sub: Mapping[str, Any]) -> str:
    parts = []
    if "minimum" in sub:
        parts.append(f"不小于 {sub['minimum']}")
    if "exclusiveMinimum" in sub:
        parts.append(f"大于 {sub['exclusiveMinimum']}")
    if "maximum" in sub:
        parts.append(f"不大于 {sub['maximum']}")
    return "，".join(parts)


def _text_hint(sub: Mapping[str, Any]) -> str:
    if "maxLength" in sub and "minLength" in sub:
        return f"{sub['minLength']}–{sub['maxLength']} 个字符"
    if "maxLength" in sub:
        return f"最多 {sub['maxLength']} 个字符"
    return ""


def _array_hint(sub: Mapping[str, Any]) -> str:
    return f"至少 {sub['minItems']} 项" if sub.get("minItems") else ""


# Reading a posted web form ---------------------------------------------------------------


def read_form(schema: Mapping[str, Any], values: Mapping[str, Any]
              ) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's JSON from posted ``values`` (web name → text, or a list of texts for
    checkboxes), and the fields whose text could not be read (a number that is not one):
    those are left out of the JSON and named in the errors. A blank field is left out."""
    errors: dict[str, str] = {}
    form = _read(fields_of(schema), values, errors, PREFIX)
    return form, errors


def _read(fields: list[FormField], values: Mapping[str, Any], errors: dict[str, str],
          prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        prop = f.name.removeprefix(prefix + ".") if prefix else f.name.removeprefix(".")
        name = f"{prefix}.{prop}" if prefix else prop
        if f.kind == "group":
            rows = []
            for row in range(f.rows):
                row_values = {c.name.removeprefix("."): values.get(f"{name}.{row}.{c.name[1:]}")
                              for c in f.children}
                row_errors: dict[str, str] = {}
                item = _read(list(f.children), row_values, row_errors, "")
                for child, message in row_errors.items():
                    errors[f"{name}.{row}.{child}"] = message
                if item or row_errors:
                    rows.append(item)
            if rows:
                out[prop] = rows
            continue
        raw = values.get(name)
        if f.kind == "checkboxes":
            chosen = [v for v in (raw or []) if isinstance(v, str)]
            if chosen:
                out[prop] = chosen
            continue
        if not isinstance(raw, str) or not raw.strip():
            continue
        text = raw.strip()
        if f.kind == "textarea" and f.hint == "每行一项":
            out[prop] = [line.strip() for line in text.splitlines() if line.strip()]
        elif f.kind == "boolean":
            if text in ("true", "false"):
                out[prop] = text == "true"
            else:
                errors[name] = "请选择是或否"
        elif f.kind in ("integer", "number"):
            number = _number(text, f.kind)
            if number is None:
                errors[name] = "请输入整数" if f.kind == "integer" else "请输入数字"
            else:
                out[prop] = number
        else:
            out[prop] = raw if f.kind == "textarea" else text
    return out


def _number(text: str, kind: str) -> int | float | None:
    if not _NUMBER.match(text):
        return None
    if kind == "integer":
        return int(text) if text.lstrip("+-").isdigit() else None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


# Checking, with messages in Chinese ----------------------------------------------------


def form_errors(schema: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, str]:
    """Each field's first error, in Chinese, keyed by its web name (``f.credit_code``,
    ``f.shareholders.0.name``); ``{}`` when ``form`` is valid."""
    errors: dict[str, str] = {}
    for error in sorted(validator(schema).iter_errors(form), key=lambda e: list(e.path)):
        name, message = _where(error), _message(error)
        errors.setdefault(name, message)
    return errors


def _where(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = _quoted(error.message)
        if missing is not None:
            path.append(missing)
    if error.validator == "additionalProperties" or not path:
        return PREFIX
    if len(path) >= 2 and path[-1].isdigit() and len(path) == 2:
        path = path[:1]  # an element of a list of choices: the list's field
    return ".".join([PREFIX, *path])


def _quoted(message: str) -> str | None:
    match = re.match(r"^'([^']*)' is a required property", message)
    return match.group(1) if match else None


def _message(error: ValidationError) -> str:
    rule, value = str(error.validator), error.validator_value
    if rule == "required":
        return "请填写此项"
    if rule == "minLength":
        return f"至少需要 {value} 个字符"
    if rule == "maxLength":
        return f"最多 {value} 个字符"
    if rule == "pattern":
        return "格式不正确"
    if rule == "enum":
        return "请从给出的选项中选择"
    if rule == "type":
        return {"integer": "请输入整数", "number": "请输入数字", "boolean": "请选择是或否",
                "string": "请输入文字", "array": "请选择", "object": "内容无效"}.get(
                    str(value), "内容无效")
    if rule == "minimum":
        return f"不能小于 {value}"
    if rule == "maximum":
        return f"不能大于 {value}"
    if rule == "exclusiveMinimum":
        return f"必须大于 {value}"
    if rule == "exclusiveMaximum":
        return f"必须小于 {value}"
    if rule == "minItems":
        return f"至少填写或选择 {value} 项"
    if rule == "maxItems":
        return f"最多 {value} 项"
    if rule == "uniqueItems":
        return "不能重复"
    if rule == "format":
        return {"date": "请输入有效的日期（如 2026-12-01）",
                "email": "请输入有效的电子邮箱"}.get(str(value), "格式不正确")
    if rule == "additionalProperties":
        return "表单含有不认识的栏目"
    return "内容无效"
