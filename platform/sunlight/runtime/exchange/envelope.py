"""The event envelope: CloudEvents-style JSON, canonical bytes, and the signature inside it.

An envelope carries ``specversion`` (CloudEvents 1.0), ``id``, ``source`` (the sending
site's division code), ``type``, ``time``, ``schemaversion``, ``datacontenttype`` and
``data``; case events add ``subject`` (the receipt) and ``sequence`` (per case, from 1);
events for one site add ``destination`` (a division code, or ``*`` for every subordinate).
The message body is the envelope plus ``signature``: Ed25519 over the *canonical* bytes of
the envelope without ``signature`` — RFC 8785 (:func:`sunlight.canonical.canonical_json`).
The signed envelope names the key that signs it in ``keyid`` (:data:`KEY_ID`: 16 hex digits
of the SHA-256 of the raw public key, :func:`sunlight.runtime.exchange.signing.key_id`), so a
receiver picks the key by (source, key id) and a site can rotate its key with the old one
still valid for a stated overlap (:mod:`sunlight.runtime.exchange.signing`).
Envelopes carry strings, integers within ±(2**53 − 1), booleans and nulls only: a float is
refused, so a site still on the pre-RFC 8785 form (which refused floats) reads every
envelope an upgraded site signs (see :mod:`sunlight.canonical`). A forwarding site passes the
body on unchanged, so the original source and signature reach every tier.

A received body is read defensively (:func:`parse_body`): one larger than
:data:`MAX_BODY_BYTES` (the brokers' ``max_message_size`` too: ``playbooks/group_vars/all.yml``
states the number, a unit test keeps the two equal) is refused before anything reads it; one
whose arrays and objects nest deeper than :data:`MAX_DEPTH` is refused by a scan of its raw
bytes before it is parsed (a deeply nested body would otherwise raise ``RecursionError``
in the parser, or later in the checks); what is not UTF-8, not JSON or not an object is
refused. Each refusal is an :class:`EnvelopeError` (:class:`Oversized` for the size).

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
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sunlight.canonical import CanonicalError, canonical_json

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
SIGNATURE = "signature"
#: The envelope attribute naming the signing key (signed with the rest of the envelope).
KEY_ID = "keyid"
BROADCAST = "*"
#: RFC 8785 (I-JSON): a larger integer would not survive a double, so it has no canonical form.
MAX_INT = 2**53 - 1
#: The largest body a site reads or publishes (32 MiB). Equal to
#: ``sunlight_exchange_max_message_bytes`` in ``playbooks/group_vars/all.yml``, which sets every
#: broker's ``max_message_size`` (a unit test keeps the two equal). The largest legitimate
#: event is a catalogue baseline: about 3 kB an item (the sample catalogue), so some 10 000
#: items; RabbitMQ's own default is 128 MiB.
MAX_BODY_BYTES = 33554432
#: The deepest nesting of arrays and objects a body may have (a catalogue baseline of the
#: sample catalogue needs 12).
MAX_DEPTH = 32
# A JSON string (escapes included): brackets inside one do not nest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


class EnvelopeError(ValueError):
    """The bytes are not an envelope this exchange can read; the message says where."""


class Oversized(EnvelopeError):
    """The body is larger than the exchange reads (:data:`MAX_BODY_BYTES`)."""


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the arrays and objects of ``body`` nest deeper than ``limit``, from its raw
    bytes (strings skipped; no parser, no recursion). Invalid JSON may answer either way: the
    parser refuses it next.

    Example::

        >>> too_deep(b'{"a": [[1], "]]]]"]}', 3), too_deep(b"[[[[]]]]", 3)
        (False, True)
    """
    depth = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_A_BRACKET):
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


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


def read_body(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The JSON object of a received body: size checked first, nesting before parsing.

    Raises :class:`Oversized` or :class:`EnvelopeError`; never ``RecursionError``.
    """
    if len(body) > max_bytes:
        raise Oversized(f"{len(body)} bytes, more than the {max_bytes} the exchange reads")
    if too_deep(body):
        raise EnvelopeError(f"arrays and objects nest deeper than {MAX_DEPTH}")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError(f"not UTF-8 JSON: {exc}") from exc
    except RecursionError as exc:  # not reached past too_deep(); kept as a second guard
        raise EnvelopeError(f"arrays and objects nest deeper than {MAX_DEPTH}") from exc
    if not isinstance(doc, dict):
        raise EnvelopeError(f"the body is not a JSON object but {type(doc).__name__}")
    return doc


def parse_body(body: bytes | dict[str, Any],
               max_bytes: int = MAX_BODY_BYTES) -> tuple[dict[str, Any], bytes, str]:
    """Split a received body into (envelope, the canonical bytes that were signed, signature).

    ``body`` may be what :func:`read_body` already returned (then it is not read again).
    Raises :class:`EnvelopeError` when the body is too large, nests too deep, is not a JSON
    object with a string signature or holds values without a canonical form.
    """
    doc = dict(body) if isinstance(body, dict) else read_body(body, max_bytes)
    signature = doc.pop(SIGNATURE, None)
    if not isinstance(signature, str):
        raise EnvelopeError("no signature")
    return doc, canonical(doc), signature
