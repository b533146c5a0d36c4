"""The one canonical JSON (RFC 8785) and the legacy form kept for verifying old bytes."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest

import sunlight.canonical
from sunlight.canonical import CanonicalError, canonical_json, legacy_json


def test_rfc8785_section_3_2_2_example() -> None:
    value = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        r' "string": "\u20ac$\u000F\u000aA' "'" r'\u0042\u0022\u005c\\\"\/",'
        ' "literals": [null, true, false]}')
    expected = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,'
                r'1e-27],"string":"€$\u000f\nA' "'" r'B\"\\\\\"/"}')
    assert canonical_json(value) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units() -> None:
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    out = canonical_json({k: i for i, k in enumerate(keys)}).decode("utf-8")
    assert [k for k, _ in json.loads(out, object_pairs_hook=list)] == [
        "\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    # by code point (the legacy form) the emoji would come last
    assert list(json.loads(legacy_json({k: 0 for k in keys})))[-1] == "\U0001f600"


@pytest.mark.parametrize("value", [
    {"a": float("nan")}, {"a": float("inf")}, {"a": 2**53}, {"a": -(2**53)}, {1: "x"},
    {"a": b"bytes"}, {"a": "\ud800"},
])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_json(value)


def test_the_legacy_form_is_the_old_sorted_compact_dumps() -> None:
    value = {"b": [1.0, "连云区", None], "a": {"y": True, "x": "\x01\n"}}
    assert legacy_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False).encode("utf-8")
    assert canonical_json(value) != legacy_json(value)  # 1.0 is spelled 1 by RFC 8785
    assert canonical_json({**value, "b": [1, "连云区", None]}) == legacy_json(
        {**value, "b": [1, "连云区", None]})
    with pytest.raises(CanonicalError):
        legacy_json({"a": float("nan")})


def test_docstring_examples() -> None:
    result = doctest.testmod(sunlight.canonical, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_module_is_pure() -> None:
    code = ("import sys, sunlight.canonical; print(sorted(m for m in ('fastapi', 'sqlalchemy', "
            "'docker', 'sunlight.runtime', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
