"""Keys and envelopes for the exchange's unit tests (no broker, no database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.signing import (
    Keyring,
    generate_keypair,
    load_private_pem,
    load_public_pem,
)

SITES = ("320000", "320700", "320703")


@pytest.fixture(scope="session")
def keys() -> dict[str, tuple[bytes, bytes]]:
    """A (private PEM, public PEM) pair per site of the test chain."""
    return {site: generate_keypair() for site in SITES}


@pytest.fixture(scope="session")
def private(keys: dict[str, tuple[bytes, bytes]]) -> Callable[[str], Ed25519PrivateKey]:
    return lambda site: load_private_pem(keys[site][0])


@pytest.fixture(scope="session")
def keyring(keys: dict[str, tuple[bytes, bytes]]) -> Callable[[str], Keyring]:
    """The keyring a site holds: every other site of the chain."""
    return lambda site: Keyring(site, {code: load_public_pem(pub)
                                       for code, (_, pub) in keys.items() if code != site})


def case_data(receipt: str = "320703-20261201-000001", action: str = "accept",
              **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "receipt": receipt, "action": action, "from_status": "submitted",
        "to_status": "in_review", "department": "320703-SCJGJ",
        "item_code": "320703-SCJGJ-QT-001", "item_version": 1, "actor": "clerk",
        "role": "clerk", "at": "2026-12-01T08:00:00+00:00", "due_on": "2026-12-03",
        "overdue": False, "decision": None, "comment": ""}
    return {**data, **extra}


def case_envelope(seq: int = 2, source: str = "320703", **extra: Any) -> Envelope:
    data = case_data(**extra)
    return Envelope.new(source, "sunlight.case.event", data, subject=data["receipt"],
                        sequence=seq)
