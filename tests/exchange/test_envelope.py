"""Canonical bytes and the envelope's shape."""

from __future__ import annotations

import json

import pytest

from sunlight.runtime.exchange.envelope import Envelope, EnvelopeError, canonical, parse_body


def test_canonical_sorts_keys_drops_whitespace_keeps_unicode() -> None:
    value = {"z": {"b": [1, "连云区"], "a": None}, "a": True}
    assert canonical(value) == '{"a":true,"z":{"a":null,"b":[1,"连云区"]}}'.encode()


def test_canonical_is_independent_of_insertion_order_and_spelling() -> None:
    one = json.loads('{"b": 2, "a": {"y": "x", "x": 1}}')
    two = json.loads('{"a":{"x":1,"y":"x"},"b":2}')
    assert canonical(one) == canonical(two)


@pytest.mark.parametrize("value, where", [
    ({"a": 1.5}, "/a"),
    ({"a": [0, {"b": float("nan")}]}, "/a/1/b"),
    ({"a": {1: "x"}}, "/a"),
    ({"a": b"bytes"}, "/a"),
])
def test_values_without_one_spelling_are_refused_naming_where(value: object, where: str) -> None:
    with pytest.raises(EnvelopeError, match=f"^{where}: "):
        canonical(value)


def test_envelope_has_cloudevents_attributes_and_only_the_optional_ones_set() -> None:
    plain = Envelope.new("320000", "sunlight.catalogue.baseline", {"x": 1}, destination="*")
    doc = plain.to_dict()
    assert doc["specversion"] == "1.0" and doc["datacontenttype"] == "application/json"
    assert doc["destination"] == "*" and "sequence" not in doc and "subject" not in doc
    assert doc["time"].endswith("+00:00") and doc["schemaversion"] == 1
    sequenced = Envelope.new("320703", "sunlight.case.event", {}, subject="r", sequence=3)
    assert sequenced.to_dict()["sequence"] == 3 and "destination" not in sequenced.to_dict()
    assert plain.id != Envelope.new("320000", "t", {}).id


@pytest.mark.parametrize("body, reason", [
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"id": "x"}', "no signature"),
    (b'{"id": "x", "signature": 5}', "no signature"),
    (b'{"n": 1.0, "signature": "c2ln"}', "float"),
    (b'{"n": NaN, "signature": "c2ln"}', "float"),
])
def test_parse_body_refuses_what_cannot_be_verified(body: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        parse_body(body)


def test_parse_body_returns_the_bytes_that_were_signed() -> None:
    doc, signed, signature = parse_body(b'{"b": 1, "signature": "c2ln", "a": "x"}')
    assert doc == {"a": "x", "b": 1} and signed == b'{"a":"x","b":1}' and signature == "c2ln"
