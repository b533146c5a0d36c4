"""Application forms: each item's form is a JSON Schema (draft 2020-12) of an object.

Forms capture structured data (names, codes, enums, dates, amounts), not only attachments,
so that the platform can compute statistics from applications. The catalogue checks each
schema when an item is loaded; the portal validates applications against it.

Example::

    >>> check_form_schema({"type": "object", "properties": {"name": {"type": "string"}}})
    >>> check_form_schema({"type": "array"})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.PydanticCustomError: a form schema must have type 'object'
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from sunlight.catalogue.errors import located

JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def check_form_schema(schema: dict[str, Any]) -> None:
    """Raise a located pydantic error unless ``schema`` is a JSON-able 2020-12 object schema."""
    try:
        json.dumps(schema, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise located(f"form schema is not plain JSON: {exc}", ()) from exc
    declared = schema.get("$schema", JSON_SCHEMA_2020_12)
    if declared != JSON_SCHEMA_2020_12:
        raise located(f"$schema must be {JSON_SCHEMA_2020_12} (draft 2020-12)", ("$schema",))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise located(f"not a valid JSON Schema at /{where}: {exc.message}", ()) from exc
    if schema.get("type") != "object":
        raise located("a form schema must have type 'object'", ("type",))
