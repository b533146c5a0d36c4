"""The band check: its arithmetic at the edges, amounts that are not amounts, the override."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sunlight.catalogue.discretion import MAX_YUAN, AmountError, parse_amount
from sunlight.enforcement.discretion import (
    MIN_JUSTIFICATION_CHARS,
    check_band,
    measure_band,
    read_amount,
)
from sunlight.enforcement.errors import InvalidRecord, OutOfBand
from tests.enforcement.builders import INSPECTION, ORDINARY, item

GENERAL = "一般 (general): 1000.00–3000.00 元"  # V01 of SCJGJ-CF-002
WHY = "当事人系初次违法且危害后果轻微，依法减轻处罚"


@pytest.mark.parametrize("amount", ["1000", "1000.00", "3000", "2999.99", "1000.01",
                                    Decimal("1500.5"), 2000, 2000.25])
def test_inside_the_band_ends_included(amount: object) -> None:
    checked = check_band(item(ORDINARY), "V01", "general", amount)
    assert checked.inside and not checked.override
    assert checked.amount == Decimal(str(amount)).quantize(Decimal("0.01"))
    assert checked.band == GENERAL


@pytest.mark.parametrize(("amount", "side"), [("999.99", "below"), ("3000.01", "above"),
                                              ("0", "below"), ("5000", "above")])
def test_one_cent_outside_is_refused_naming_the_band(amount: str, side: str) -> None:
    with pytest.raises(OutOfBand) as caught:
        check_band(item(ORDINARY), "V01", "general", amount, prefix="decision.")
    err = caught.value
    assert err.band == GENERAL and err.field == "decision.amount_yuan"
    assert f"amount {Decimal(amount):.2f} 元 is {side} the band of violation V01" in err.reason
    assert "1000.00–3000.00 元" in str(err) and "override" in err.reason


def test_the_lowest_band_may_start_at_zero() -> None:
    assert check_band(item(ORDINARY), "V01", "minor", "0").inside
    assert check_band(item(ORDINARY), "V01", "serious", "5000.00").inside
    assert not measure_band(item(ORDINARY), "V01", "serious", "5000.01").inside


@pytest.mark.parametrize(("amount", "reason"), [
    ("-0.01", "negative"), (-5, "negative"), (Decimal("-1000"), "negative"),
    ("1000.001", "more than two decimals"), (Decimal("2000.005"), "more than two decimals"),
    (1000.123, "more than two decimals"),
    ("abc", "not a number"), ("1e3", "not a number"), ("1,000", "not a number"),
    ("¥1000", "not a number"), ("NaN", "not a number"), (Decimal("NaN"), "not a number"),
    (float("inf"), "not a number"), (True, "not a number"), ([1000], "not a number"),
    ("", "missing"), (None, "missing"), ("   ", "missing"),
    ("1000000000000", "too large"),
])
def test_amounts_that_are_not_amounts_are_refused(amount: object, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        check_band(item(ORDINARY), "V01", "general", amount)
    assert caught.value.field == "amount_yuan" and caught.value.reason.startswith(reason)
    assert caught.value.http_status == 422
    with pytest.raises(AmountError) as plain:
        parse_amount(amount, field="fine")
    assert plain.value.reason == reason and plain.value.field == "fine"


@pytest.mark.parametrize(("amount", "expected"), [
    ("1000.000", "1000.00"), (" 12.5 ", "12.50"), ("+7", "7.00"), ("-0", "0.00"),
    (".5", "0.50"), (str(MAX_YUAN), str(MAX_YUAN)), (0, "0.00"),
])
def test_amounts_are_read_to_the_fen(amount: object, expected: str) -> None:
    value = read_amount(amount, "amount_yuan")
    assert value == Decimal(expected) and str(value) == expected


def test_an_override_lets_an_amount_outside_stand_flagged() -> None:
    checked = check_band(item(ORDINARY), "V01", "general", "800", override=f"  {WHY} ")
    assert (checked.inside, checked.override, checked.justification) == (False, True, WHY)
    assert checked.amount == Decimal("800.00") and checked.band == GENERAL


def test_an_override_needs_a_written_justification() -> None:
    short = "x" * (MIN_JUSTIFICATION_CHARS - 1)
    for text in ("", "   ", short):
        with pytest.raises(InvalidRecord) as caught:
            check_band(item(ORDINARY), "V01", "general", "800", override=text, prefix="d.")
        assert caught.value.field == "d.override"
    assert check_band(item(ORDINARY), "V01", "general", "800",
                      override="x" * MIN_JUSTIFICATION_CHARS).override


def test_an_override_inside_the_band_is_not_one() -> None:
    checked = check_band(item(ORDINARY), "V01", "general", "2000", override=WHY)
    assert checked.inside and not checked.override and checked.justification == ""


@pytest.mark.parametrize(("code", "violation", "severity", "field", "words"), [
    (ORDINARY, "V09", "general", "violation", "no violation 'V09' (known: V01)"),
    (ORDINARY, "V01", "grave", "severity", "unknown severity 'grave'"),
    (INSPECTION, "V01", "general", "violation", "not a penalty item"),
])
def test_unknown_violation_severity_or_item(code: str, violation: str, severity: str,
                                            field: str, words: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        check_band(item(code), violation, severity, "1000")
    assert caught.value.field == field and words in caught.value.reason
