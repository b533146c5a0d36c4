"""Canonical JSON: the one byte string of a JSON value, RFC 8785 (JCS).

What is signed (the exchange's envelopes), hashed (the audit chain) and digested (the
gateway's record of what crossed the zones) is :func:`canonical_json` of a value: RFC 8785,
the JSON Canonicalization Scheme, computed by the maintained ``rfc8785`` package — object
keys sorted by their UTF-16 code units, no whitespace, UTF-8, strings with the minimal
escapes, numbers in ECMAScript's shortest round-trip spelling. Any language with a JCS
library recomputes the same bytes. A value without a canonical form raises
:class:`CanonicalError`: NaN or an infinity, an integer beyond ±(2**53 − 1) (I-JSON: it would
not survive a double), a non-string key, anything that is not JSON. Pure: no framework,
database or Docker import.

Decision on what was written before. Until now each of three places spelled its own form,
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` as UTF-8
(the envelope also refused floats; the audit chain and the gateway took them).
:func:`legacy_json` keeps exactly that form, for *verifying* old bytes only; nothing new is
written with it. The two forms are the same bytes for a value that holds no float, no
integer beyond ±(2**53 − 1) and no object whose keys sort differently by code point than
by UTF-16 code unit (only possible when one key has a character above U+FFFF where the other
has one in U+E000–U+FFFF): both escape exactly ``"``, ``\\`` and U+0000–U+001F (``\\b``
``\\t`` ``\\n`` ``\\f`` ``\\r``, else ``\\u00xx``), write every other character as UTF-8 and
integers in decimal. Hence, per user:

- the audit chain: a record's hashed fields are strings, the integer ``seq`` and nulls under
  fixed ASCII names, so both forms coincide and every chain written before verifies
  unchanged — no hash version is stored (``tests/workflow/test_audit.py`` proves it against
  the old implementation);
- the exchange: envelopes still refuse floats, so a site not yet upgraded verifies what an
  upgraded one signs; an envelope's data may carry arbitrary keys, so a receiver verifies a
  signature over the JCS bytes and, failing that, over the legacy bytes (an event signed by
  a site not yet upgraded, or in flight across the upgrade), and says which it was;
- the gateway's crossing digest is a record, never recomputed: new rows hold the JCS digest.

Example::

    >>> canonical_json({"b": 1, "a": ["连云区", True, None, 1.0, 1e21]})
    b'{"a":["\\xe8\\xbf\\x9e\\xe4\\xba\\x91\\xe5\\x8c\\xba",true,null,1,1e+21],"b":1}'
    >>> legacy_json({"b": 1, "a": [1.0]})
    b'{"a":[1.0],"b":1}'
    >>> canonical_json({"n": 2**53})
    Traceback (most recent call last):
    ...
    sunlight.canonical.CanonicalError: no canonical JSON form: 9007199254740992 exceeds ...
"""

from __future__ import annotations

import json
from typing import Any, cast

import rfc8785

__all__ = ["CanonicalError", "canonical_json", "legacy_json"]


class CanonicalError(ValueError):
    """The value has no canonical JSON form; the message says why."""


def canonical_json(value: object) -> bytes:
    """The RFC 8785 bytes of ``value`` (dicts, lists, tuples, str, int, float, bool, None)."""
    try:
        # Typed for its own recursive alias; it refuses anything else itself.
        return rfc8785.dumps(cast(Any, value))
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalError(f"no canonical JSON form: {exc}") from exc


def legacy_json(value: object) -> bytes:
    """The form written before RFC 8785, to verify old signatures and hashes; never to write."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise CanonicalError(f"no legacy JSON form: {exc}") from exc
