"""Each refusal reason, in order, and the route of what is accepted (no database)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sunlight.canonical import legacy_json
from sunlight.runtime.exchange.envelope import Envelope, canonical
from sunlight.runtime.exchange.inbound import REASONS, Inbound, Rejected, accept, via
from sunlight.runtime.exchange.signing import Keyring, key_id, seal
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
    wrong_key = seal(case_envelope(), private("320000"))
    assert _reason(city, wrong_key) == "unknown_key"  # it names a key 320703 does not have
    claimed = {**json.loads(wrong_key), "keyid": key_id(private("320703").public_key())}
    claimed.pop("signature")  # the province's key, naming the county's key id
    forged = base64.b64encode(private("320000").sign(canonical(claimed))).decode()
    assert _reason(city, canonical({**claimed, "signature": forged})) == "bad_signature"


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


def test_an_event_signed_over_the_legacy_form_is_accepted_and_says_so(city: Inbound,
                                                                       private: Private) -> None:
    # An item document whose keys sort differently in the legacy form than in RFC 8785.
    doc = {"（说明）": "full-width", "𠀀名": "extension B"}
    item = {"code": "320000-X-001", "version": 1, "name": "n", "category": "c",
            "department": "d", "doc": doc}
    env = Envelope.new("320000", "sunlight.catalogue.baseline",
                       {"version": 1, "title": "基线", "items": [item]}, destination="*")
    signed = env.to_dict()
    signature = base64.b64encode(private("320000").sign(legacy_json(signed))).decode()
    body = legacy_json({**signed, "signature": signature})
    accepted = accept(city, body, "down")
    assert accepted.signed_form == "legacy" and accepted.route == Route(True, ("320703",))
    current = accept(city, seal(env, private("320000")), "down")
    assert current.signed_form == "rfc8785"
