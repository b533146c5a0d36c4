"""The event types and their JSON Schemas (package data under ``schemas/``).

Each ``<type>.v<version>.json`` validates an event's ``data`` and says, in its
``x-sunlight`` keyword, which way the type travels (``up`` or ``down``), whether it carries
a per-case ``sequence``, and how it is addressed (``none``: every ancestor applies it;
``site``: one site; ``broadcast``: every subordinate). ``envelope.json`` validates the
envelope itself. Validation failures name the JSON pointer of the first bad value.

Example::

    >>> spec = event_type("sunlight.case.event", 1)
    >>> spec.direction, spec.sequenced, spec.addressing
    ('up', True, 'none')
    >>> sorted(t for t in known_types() if t.startswith("sunlight.case."))
    ['sunlight.case.event', 'sunlight.case.light']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

Direction = Literal["up", "down"]
Addressing = Literal["none", "site", "broadcast"]
_NAME = re.compile(r"^(?P<type>[a-z][a-z0-9.]+)\.v(?P<version>[0-9]+)\.json$")

CASE_EVENT = "sunlight.case.event"
#: A case's e-supervision light changed (up, outside the per-case sequence).
CASE_LIGHT = "sunlight.case.light"
STATS = "sunlight.stats.snapshot"
ORDER = "sunlight.supervision.order"
ANSWER = "sunlight.supervision.answer"
REVIEW = "sunlight.supervision.review"
ESCALATION = "sunlight.supervision.escalation"
BASELINE = "sunlight.catalogue.baseline"
ADOPTION = "sunlight.catalogue.adoption"
#: A versioned data file published above as a baseline (down, to every subordinate).
DATA_BASELINE = "sunlight.data.baseline"
#: A step of an enforcement case (执法办案) with the case's records so far, the party
#: de-identified (up, outside the per-case sequence: an ancestor keeps the most steps).
ENFORCEMENT_STEP = "sunlight.enforcement.step"
#: A refused enforcement attempt legal supervision counts (out of band, unqualified officer)
#: (up, outside the per-case sequence: an ancestor keeps each once).
ENFORCEMENT_REFUSAL = "sunlight.enforcement.refusal"
#: A 行政复议 or 行政诉讼 against an enforcement decision in its current state (up, outside
#: the per-case sequence: an ancestor keeps the latest state, decided over pending).
ENFORCEMENT_CHALLENGE = "sunlight.enforcement.challenge"
#: A signed head of a site's audit chain (up, outside the per-case sequence: an ancestor
#: keeps each (source, seq) once; :mod:`sunlight.runtime.core.audit_anchor`).
AUDIT_ANCHOR = "sunlight.audit.anchor"


class UnknownType(ValueError):
    """No schema for this event type and version."""


class SchemaViolation(ValueError):
    """The envelope or its data does not match the schema; ``pointer`` says where."""

    def __init__(self, what: str, error: ValidationError) -> None:
        self.pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        super().__init__(f"{what} {self.pointer}: {error.message}")


@dataclass(frozen=True)
class EventType:
    """One type and version: its schema validator and how it travels."""

    name: str
    version: int
    direction: Direction
    sequenced: bool
    addressing: Addressing
    validator: Draft202012Validator

    def check(self, doc: dict[str, Any]) -> None:
        """Check the addressing rules and ``data``; raise :class:`SchemaViolation`.

        A sequenced type needs ``subject`` and ``sequence``; ``site`` addressing needs a
        division code as destination, ``broadcast`` needs ``*``, ``none`` no destination.
        """
        _check_addressing(self, doc)
        error = next(iter(sorted(self.validator.iter_errors(doc["data"]), key=_order)), None)
        if error is not None:
            raise SchemaViolation(f"{self.name} v{self.version} data", error)


def _order(error: ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), str(list(error.absolute_path)))


def _date_time(value: object) -> bool:
    # RFC 3339 needs an offset; jsonschema checks date-time only with an extra package.
    if not isinstance(value, str):
        return True
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("date-time")(_date_time)
    return checker


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _load(name: str) -> dict[str, Any]:
    text = files("sunlight.runtime.exchange").joinpath("schemas", name).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@lru_cache(maxsize=1)
def _registry() -> dict[tuple[str, int], EventType]:
    found: dict[tuple[str, int], EventType] = {}
    for entry in files("sunlight.runtime.exchange").joinpath("schemas").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        schema = _load(entry.name)
        meta = schema["x-sunlight"]
        version = int(match["version"])
        found[(match["type"], version)] = EventType(
            match["type"], version, meta["direction"], bool(meta["sequenced"]),
            meta["destination"], _validator(schema))
    return found


@lru_cache(maxsize=1)
def _envelope_validator() -> Draft202012Validator:
    return _validator(_load("envelope.json"))


def known_types() -> set[str]:
    return {name for name, _ in _registry()}


def event_type(name: str, version: int) -> EventType:
    try:
        return _registry()[(name, version)]
    except KeyError as exc:
        raise UnknownType(f"unknown event type {name} v{version}") from exc


def check_envelope(doc: dict[str, Any]) -> EventType:
    """Validate the envelope (not yet its data) and return its type.

    Raises :class:`SchemaViolation` or :class:`UnknownType`; the caller verifies the
    signature before :meth:`EventType.check` looks at the data.
    """
    error = next(iter(sorted(_envelope_validator().iter_errors(doc), key=_order)), None)
    if error is not None:
        raise SchemaViolation("envelope", error)
    return event_type(doc["type"], doc["schemaversion"])


def _check_addressing(spec: EventType, doc: dict[str, Any]) -> None:
    problems = []
    if spec.sequenced and ("sequence" not in doc or "subject" not in doc):
        problems.append("needs subject and sequence")
    if not spec.sequenced and "sequence" in doc:
        problems.append("must not carry a sequence")
    destination = doc.get("destination")
    wanted = {"none": destination is None, "site": destination not in (None, "*"),
              "broadcast": destination == "*"}[spec.addressing]
    if not wanted:
        problems.append(f"addressing is {spec.addressing}, destination is {destination!r}")
    if problems:
        error = ValidationError("; ".join(problems))
        raise SchemaViolation(f"{spec.name} v{spec.version} envelope", error)
