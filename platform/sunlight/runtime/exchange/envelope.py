"""The event envelope: CloudEvents-style JSON, canonical bytes, and the signature inside it.

An envelope carries ``specversion`` (CloudEvents 1.0), ``id``, ``source`` (the sending
site's division code), ``type``, ``time``, ``schemaversion``, ``datacontenttype`` and
``data``; case events add ``subject`` (the receipt) and ``sequence`` (per case, from 1);
events for one site add ``destination`` (a division code, or ``*`` for every subordinate).
The message body is the envelope plus ``signature``: Ed25519 over the *canonical* bytes of
the envelope without ``signature`` — RFC 8785 (:func:`sunlight.canonical.canonical_json`).
Envelopes carry strings, integers within ±(2**53 − 1), booleans and nulls only: a float is
refused, so a site still on the pre-RFC 8785 form (which refused floats) reads every
envelope an upgraded site signs (see :mod:`sunlight.canonical`). A forwarding site passes the
body on unchanged, so the original source and signature reach every tier.

Example::

    >>> canonical({"b": 1, "a": ["x", True, None]})
    b'{"a":["x",true,null],"b":1}'
    >>> canonical({"a": 0.5})
    Traceback (most recent call last):
    ...
    sunlight.runtime.exchange.envelope.EnvelopeError: /a: a float is not carried; ...
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sunlight.canonical import CanonicalError, canonical_json

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
SIGNATURE = "signature"
BROADCAST = "*"
#: RFC 8785 (I-JSON): a larger integer would not survive a double, so it has no canonical form.
MAX_INT = 2**53 - 1


class EnvelopeError(ValueError):
    """The bytes are not an envelope this exchange can read; the message says where."""


def _check(value: object, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise EnvelopeError(f"{path or '/'}: an integer beyond ±(2**53 - 1) has no "
                                "canonical form; use a string")
        return
    if isinstance(value, float):
        raise EnvelopeError(f"{path or '/'}: a float is not carried; "
                            "use an integer or a string")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{path}/{i}")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EnvelopeError(f"{path}: object keys must be strings")
            _check(item, f"{path}/{key}")
        return
    raise EnvelopeError(f"{path or '/'}: {type(value).__name__} is not JSON")


def canonical(value: object) -> bytes:
    """The one byte string that is signed and verified for ``value`` (RFC 8785)."""
    _check(value, "")
    try:
        return canonical_json(value)
    except CanonicalError as exc:  # e.g. a lone surrogate in a string
        raise EnvelopeError(f"/: {exc}") from exc


@dataclass(frozen=True)
class Envelope:
    """An unsigned event; :func:`sunlight.runtime.exchange.signing.seal` signs it into a body.

    Example::

        >>> e = Envelope.new("320703", "sunlight.case.event", {"receipt": "r"},
        ...                  subject="r", sequence=1)
        >>> sorted(e.to_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['data', 'datacontenttype', 'id', 'schemaversion', 'sequence', 'source',
         'specversion', 'subject', 'time', 'type']
    """

    id: str
    source: str
    type: str
    time: str
    data: dict[str, Any]
    schemaversion: int = 1
    subject: str | None = None
    sequence: int | None = None
    destination: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, source: str, type_: str, data: dict[str, Any], *, subject: str | None = None,
            sequence: int | None = None, destination: str | None = None,
            time: datetime | None = None, schemaversion: int = 1) -> Envelope:
        return cls(id=str(uuid.uuid4()), source=source, type=type_,
                   time=(time or datetime.now(UTC)).isoformat(), data=data,
                   schemaversion=schemaversion, subject=subject, sequence=sequence,
                   destination=destination)

    def to_dict(self) -> dict[str, Any]:
        """The envelope as signed (no ``signature``); optional attributes only when set."""
        doc: dict[str, Any] = {
            "specversion": SPEC_VERSION, "id": self.id, "source": self.source,
            "type": self.type, "time": self.time, "schemaversion": self.schemaversion,
            "datacontenttype": CONTENT_TYPE, "data": self.data, **self.extra}
        for name in ("subject", "sequence", "destination"):
            value = getattr(self, name)
            if value is not None:
                doc[name] = value
        return doc


def parse_body(body: bytes) -> tuple[dict[str, Any], bytes, str]:
    """Split a received body into (envelope, the canonical bytes that were signed, signature).

    Raises :class:`EnvelopeError` when the body is not a JSON object with a string signature
    or holds values without a canonical form.
    """
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise EnvelopeError("the body is not a JSON object")
    signature = doc.pop(SIGNATURE, None)
    if not isinstance(signature, str):
        raise EnvelopeError("no signature")
    return doc, canonical(doc), signature
