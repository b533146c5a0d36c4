"""Reading and re-validating a submitted form on the server, with messages in Chinese.

A page reads the form (:func:`form_values`), validates it with a pydantic model
(:func:`validate`), and on failure re-renders with ``values`` (what the person typed) and
``errors`` (field → message) for the form macros (``pages/forms.html``).

Example::

    >>> from pydantic import BaseModel, Field
    >>> class Name(BaseModel):
    ...     name: str = Field(min_length=2, max_length=5)
    >>> validate(Name, {"name": "x"})
    (None, {'name': '至少需要 2 个字符'})
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

M = TypeVar("M", bound=BaseModel)

#: pydantic error type → message (``{…}`` filled from the error's context).
MESSAGES = {
    "missing": "请填写此项",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "至少选择 {min_length} 项",
    "too_long": "最多选择 {max_length} 项",
    "int_parsing": "请输入整数",
    "float_parsing": "请输入数字",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "date_from_datetime_parsing": "请输入有效的日期",
    "date_parsing": "请输入有效的日期",
    "literal_error": "请从给出的选项中选择",
    "enum": "请从给出的选项中选择",
    "bool_parsing": "请选择是或否",
}


def message(error: dict[str, Any]) -> str:
    """The Chinese message for one pydantic error; a ``ValueError`` raised by a validator
    speaks for itself (its text should be Chinese)."""
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", "输入无效"))
    template = MESSAGES.get(error["type"])
    if template is None:
        return "输入无效"
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return "输入无效"


#: What a text field may never hold: the database refuses NUL in text.
NUL_MESSAGE = "不能包含空字符（U+0000）"


def validate(model: type[M], values: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """``values`` as ``model``, or None and each field's first error in Chinese (an
    empty text field counts as missing; text holding NUL is refused)."""
    cleaned = {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
    errors: dict[str, str] = {
        k: NUL_MESSAGE for k, v in values.items()
        if "\x00" in (v if isinstance(v, str) else "".join(map(str, v))
                      if isinstance(v, list) else "")}
    try:
        return (model.model_validate(cleaned), {}) if not errors else (None, errors)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "__all__"
            errors.setdefault(field, message(dict(error)))
        return None, errors


def form_values(form: FormData, multi: tuple[str, ...] = ()) -> dict[str, Any]:
    """The text fields of ``form`` (files and the CSRF token left out); the fields named
    in ``multi`` as lists (checkboxes)."""
    values: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in multi:
            values[key] = [v for v in form.getlist(key) if isinstance(v, str)]
            continue
        value = form.get(key)
        if not isinstance(value, UploadFile):
            values[key] = value
    for key in multi:
        values.setdefault(key, [])
    return values
