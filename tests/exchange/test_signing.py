"""Sealing and opening bodies; keyrings from a directory of PEM files."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sunlight.canonical import legacy_json
from sunlight.runtime.exchange.envelope import Envelope, canonical
from sunlight.runtime.exchange.signing import (
    BadSignature,
    KeyFileError,
    Keyring,
    UnknownKey,
    UnknownSource,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_pem,
    open_sealed,
    seal,
    verify_sealed,
)
from tests.exchange.conftest import case_envelope

Private = Callable[[str], Ed25519PrivateKey]
Ring = Callable[[str], Keyring]


def test_a_sealed_body_opens_at_every_ancestor(private: Private, keyring: Ring) -> None:
    envelope = case_envelope()
    body = seal(envelope, private("320703"))
    named = {**envelope.to_dict(), "keyid": key_id(private("320703").public_key())}
    for site in ("320700", "320000"):
        assert open_sealed(body, keyring(site)) == named


def test_sealing_is_deterministic_so_a_retry_sends_the_same_bytes(private: Private) -> None:
    envelope = case_envelope()
    assert seal(envelope, private("320703")) == seal(envelope.to_dict(), private("320703"))


@pytest.mark.parametrize("field, value", [
    ("sequence", 3), ("subject", "320703-20261201-000002"), ("type", "sunlight.stats.snapshot"),
    ("data", {"to_status": "closed"}), ("destination", "320000"),
])
def test_any_change_to_the_signed_content_is_detected(private: Private, keyring: Ring,
                                                      field: str, value: object) -> None:
    doc = json.loads(seal(case_envelope(), private("320703")))
    tampered = json.dumps({**doc, field: value}).encode()
    with pytest.raises(BadSignature, match="does not match source 320703"):
        open_sealed(tampered, keyring("320000"))


def test_only_the_content_is_signed_not_its_spelling(private: Private, keyring: Ring) -> None:
    doc = json.loads(seal(case_envelope(), private("320703")))
    respelled = json.dumps(dict(reversed(list(doc.items()))), indent=2, ensure_ascii=True)
    assert open_sealed(respelled.encode(), keyring("320000"))["sequence"] == 2


def test_an_event_signed_by_another_site_fails_for_the_claimed_source(private: Private,
                                                                       keyring: Ring) -> None:
    forged = seal(case_envelope(source="320703"), private("320700"))
    with pytest.raises(UnknownKey, match="source 320703 has no key"):
        open_sealed(forged, keyring("320000"))  # it names the city's key


def test_unknown_source_and_garbage_signatures(private: Private, keyring: Ring) -> None:
    stranger = seal(case_envelope(source="320706"), private("320703"))
    with pytest.raises(UnknownSource, match="320706"):
        open_sealed(stranger, keyring("320000"))
    doc = json.loads(seal(case_envelope(), private("320703")))
    for bad in ("not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(BadSignature):
            open_sealed(json.dumps({**doc, "signature": bad}).encode(), keyring("320700"))


def test_keyring_from_a_directory(tmp_path: Path, keys: dict[str, tuple[bytes, bytes]]) -> None:
    for code, (_, public) in keys.items():
        (tmp_path / f"{code}.pem").write_bytes(public)
    ring = Keyring.load("320700", tmp_path)
    assert sorted(ring.keys) == ["320000", "320703"]  # its own key is not a peer
    assert ring.children() == ["320703"] and ring.is_ancestor("320000")
    assert ring.is_descendant("320703") and not ring.is_descendant("320000")
    assert not ring.is_descendant("320706")  # a descendant by code, but no key
    (tmp_path / "city.pem").write_bytes(keys["320000"][1])
    with pytest.raises(KeyFileError, match=r"city\.pem"):
        Keyring.load("320700", tmp_path)


def test_key_files_must_be_ed25519(tmp_path: Path) -> None:
    private, _ = generate_keypair()
    (tmp_path / "site.key").write_bytes(private)
    assert isinstance(load_private_key(tmp_path / "site.key"), Ed25519PrivateKey)
    (tmp_path / "bad.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    with pytest.raises(KeyFileError, match=r"bad\.key"):
        load_private_key(tmp_path / "bad.key")
    with pytest.raises(KeyFileError, match=r"missing\.key"):
        load_private_key(tmp_path / "missing.key")


# --- Signatures made before RFC 8785 -------------------------------------------------------
# Keys that sort differently by code point (the legacy form) than by UTF-16 code unit (RFC
# 8785): U+FF08 comes before U+20000 by code point, after its surrogate pair by UTF-16.
DIVERGENT = {"（说明）": "full-width", "𠀀名": "extension B"}


def _legacy_seal(envelope: Envelope, key: Ed25519PrivateKey) -> bytes:
    """``seal`` as it was: the legacy canonical form, signed and sent."""
    doc = envelope.to_dict()
    signature = base64.b64encode(key.sign(legacy_json(doc))).decode("ascii")
    return legacy_json({**doc, "signature": signature})


def test_the_forms_differ_only_for_exotic_key_orders() -> None:
    doc = case_envelope().to_dict()
    assert legacy_json(doc) == canonical(doc)
    assert legacy_json(DIVERGENT) != canonical(DIVERGENT)


def test_an_envelope_signed_over_the_legacy_form_still_verifies(private: Private,
                                                                keyring: Ring) -> None:
    envelope = case_envelope(comment="x")
    envelope = Envelope.new("320703", "sunlight.case.event", {**envelope.data,
                            "extra": DIVERGENT}, subject=envelope.subject, sequence=2)
    body = _legacy_seal(envelope, private("320703"))
    opened = verify_sealed(body, keyring("320700"))
    assert opened.form == "legacy" and opened.envelope == envelope.to_dict()
    assert open_sealed(body, keyring("320000")) == envelope.to_dict()
    # tampered, it verifies in neither form
    tampered = body.replace(b"full-width", b"half-width")
    with pytest.raises(BadSignature):
        verify_sealed(tampered, keyring("320700"))


def test_what_an_upgraded_site_signs_verifies_where_the_legacy_form_is_still_used(
        private: Private, keys: dict[str, tuple[bytes, bytes]]) -> None:
    """During a rolling upgrade a site on the old code verifies over the legacy bytes."""
    envelope = case_envelope()
    body = seal(envelope, private("320703"))
    assert verify_sealed(body, Keyring("320700", {"320703": load_public_pem(
        keys["320703"][1])})).form == "rfc8785"
    doc = json.loads(body)
    signature = base64.b64decode(doc.pop("signature"))
    load_public_pem(keys["320703"][1]).verify(signature, legacy_json(doc))  # no exception
