"""Receipt numbers and tracking secrets."""

from __future__ import annotations

import re
from datetime import date

import pytest

from sunlight.workflow.receipts import (
    MAX_DAILY_SEQ,
    RECEIPT_PATTERN,
    format_receipt,
    hash_secret,
    new_tracking_secret,
    parse_receipt,
    secret_matches,
)


@pytest.mark.parametrize(
    ("site", "day", "seq", "text"),
    [
        ("320703", date(2026, 11, 28), 123, "320703-20261128-000123"),
        ("320000", date(2024, 2, 29), 1, "320000-20240229-000001"),
        ("110105", date(2027, 1, 4), MAX_DAILY_SEQ, "110105-20270104-999999"),
    ],
)
def test_round_trip(site: str, day: date, seq: int, text: str) -> None:
    assert format_receipt(site, day, seq) == text
    assert parse_receipt(text) == (site, day, seq)
    assert re.fullmatch(RECEIPT_PATTERN, text)


def test_parse_ignores_surrounding_whitespace() -> None:
    assert parse_receipt(" 320703-20261128-000123\n") == ("320703", date(2026, 11, 28), 123)


@pytest.mark.parametrize(
    ("site", "seq", "message"),
    [
        ("32070", 1, "6-digit"),
        ("3207031", 1, "6-digit"),
        ("32070X", 1, "6-digit"),
        ("３２０７０３", 1, "6-digit"),  # full-width digits are not ASCII digits
        ("320703", 0, "between 1 and"),
        ("320703", -5, "between 1 and"),
        ("320703", MAX_DAILY_SEQ + 1, "between 1 and"),
    ],
)
def test_format_refuses_bad_input(site: str, seq: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_receipt(site, date(2026, 11, 28), seq)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a receipt number"),
        ("320703-20261128", "not a receipt number"),
        ("320703-20261128-000123-1", "not a receipt number"),
        ("320703_20261128_000123", "not a receipt number"),
        ("320703-2026-11-28-000123", "not a receipt number"),
        ("32070-20261128-000123", "not a receipt number"),
        ("320703-20261128-123", "not a receipt number"),
        ("320703-20261128-00012A", "not a receipt number"),
        ("３２０７０３-20261128-000123", "not a receipt number"),
        ("320703-20250229-000001", "impossible date"),
        ("320703-20261301-000001", "impossible date"),
        ("320703-20261128-000000", "start at 1"),
    ],
)
def test_parse_refuses_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_receipt(text)


def test_tracking_secrets_are_random_and_url_safe() -> None:
    secrets = {new_tracking_secret() for _ in range(1000)}
    assert len(secrets) == 1000
    for secret in secrets:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", secret)


def test_hash_secret_is_sha256_hex() -> None:
    assert hash_secret("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_secret_matches() -> None:
    secret = new_tracking_secret()
    stored = hash_secret(secret)
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored)
    assert not secret_matches(secret, stored.upper())
    assert not secret_matches(secret, "")
    assert not secret_matches(secret, "密码")  # a corrupt stored value is a mismatch, not a crash
