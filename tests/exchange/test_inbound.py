"""Each refusal reason, in order, and the route of what is accepted (no database)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.inbound import REASONS, Inbound, Rejected, accept, via
from sunlight.runtime.exchange.signing import Keyring, seal
from sunlight.runtime.exchange.topology import Route
from tests.exchange.conftest import case_data, case_envelope

Private = Callable[[str], Ed25519PrivateKey]
Ring = Callable[[str], Keyring]


@pytest.fixture
def city(keyring: Ring) -> Inbound:
    return Inbound("320700", keyring("320700"), ("320703",))


def _reason(ctx: Inbound, body: bytes, direction: str = "up") -> str:
    with pytest.raises(Rejected) as caught:
        accept(ctx, body, direction)  # type: ignore[arg-type]
    assert caught.value.reason in REASONS
    return caught.value.reason


def test_a_county_case_event_is_applied_at_the_city_and_passed_up(city: Inbound,
                                                                   private: Private) -> None:
    accepted = accept(city, seal(case_envelope(), private("320703")), "up")
    assert accepted.route == Route(True, ("320000",))
    assert accepted.envelope["source"] == "320703" and accepted.spec.sequenced


def test_malformed(city: Inbound) -> None:
    assert _reason(city, b"<xml/>") == "malformed"
    assert _reason(city, json.dumps({"id": 1}).encode()) == "malformed"


def test_schema_violation_of_the_envelope_and_of_the_data(city: Inbound,
                                                          private: Private) -> None:
    doc = json.loads(seal(case_envelope(), private("320703")))
    assert _reason(city, json.dumps({**doc, "specversion": "9"}).encode()) == "schema_violation"
    bad_data = case_envelope(to_status="vanished")
    assert _reason(city, seal(bad_data, private("320703"))) == "schema_violation"


def test_unknown_type(city: Inbound, private: Private) -> None:
    env = Envelope.new("320703", "sunlight.case.deleted", case_data())
    assert _reason(city, seal(env, private("320703"))) == "unknown_type"


def test_unknown_source(city: Inbound, private: Private) -> None:
    assert _reason(city, seal(case_envelope(source="320706"), private("320703"))) == \
        "unknown_source"


def test_tampered_and_wrongly_signed(city: Inbound, private: Private) -> None:
    doc = json.loads(seal(case_envelope(), private("320703")))
    doc["data"]["to_status"] = "closed"  # still valid data, but not what was signed
    assert _reason(city, json.dumps(doc).encode()) == "bad_signature"
    assert _reason(city, seal(case_envelope(), private("320000"))) == "bad_signature"


def test_misrouted_direction_and_destination(city: Inbound, private: Private) -> None:
    up_from_above = seal(case_envelope(source="320000"), private("320000"))
    assert _reason(city, up_from_above) == "misrouted"
    case_event_sent_down = seal(case_envelope(), private("320703"))
    assert _reason(city, case_event_sent_down, "down") == "misrouted"


def test_signature_checked_before_the_data(city: Inbound, private: Private) -> None:
    doc = json.loads(seal(case_envelope(), private("320703")))
    doc["data"]["to_status"] = "vanished"  # tampered AND invalid: the forgery is the news
    assert _reason(city, json.dumps(doc).encode()) == "bad_signature"


def test_via_names_the_neighbour_or_unknown() -> None:
    assert via("320000", "up", "320703") == "320700"
    assert via("320700", "down", "320000") == "320000"
    assert via("320000", "up", "999999") == "unknown"
    assert via("320000", "up", None) == "unknown"
