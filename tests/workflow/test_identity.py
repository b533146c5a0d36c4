"""Applicant ID numbers: resident identity numbers (GB 11643) and credit codes (GB 32100)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from stdnum.cn import ric, uscc

from sunlight.workflow.identity import (
    ApplicantIdError,
    generate_credit_code,
    generate_resident_id,
    normalize_id,
    validate_applicant_id,
)

#: Published sample numbers with correct check digits.
PERSON = "11010519491231002X"
PERSON_2 = "360426199101010071"
ENTERPRISE = "91110000600037341L"


def _with_check_digit(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def _reason(kind: str, number: str) -> str:
    with pytest.raises(ApplicantIdError) as info:
        validate_applicant_id(kind, number)  # type: ignore[arg-type]
    return info.value.reason


@pytest.mark.parametrize("number", [PERSON, PERSON_2])
def test_valid_person(number: str) -> None:
    assert validate_applicant_id("person", number) == number


def test_valid_enterprise() -> None:
    assert validate_applicant_id("enterprise", ENTERPRISE) == ENTERPRISE


@pytest.mark.parametrize(
    ("kind", "raw", "compact"),
    [
        ("person", "11010519491231002x", PERSON),
        ("person", " 110105 19491231 002X ", PERSON),
        ("person", "110105-19491231-002x", PERSON),
        ("person", "１１０１０５１９４９１２３１００２ｘ", PERSON),  # full-width, from an IME
        ("enterprise", "91110000600037341l", ENTERPRISE),
        ("enterprise", "9 1 110000 600037341L", ENTERPRISE),
        ("enterprise", "\t91110000-600037341-L\n", ENTERPRISE),
    ],
)
def test_normalization(kind: str, raw: str, compact: str) -> None:
    assert validate_applicant_id(kind, raw) == compact  # type: ignore[arg-type]


def test_normalize_id() -> None:
    assert normalize_id(" ａｂ-1 2\u30003 ") == "AB123"  # includes an ideographic space


@pytest.mark.parametrize(
    ("kind", "number", "reason"),
    [
        ("person", "110105194912310021", "check digit does not match"),
        ("person", "110105194912310020", "check digit does not match"),
        ("person", "11010519491231002", "wrong length"),
        ("person", "11010519491231002X1", "wrong length"),
        ("person", "1101051949123100", "wrong length"),
        ("person", "A1010519491231002X", "invalid characters"),
        ("person", "1101051949123100X2", "invalid characters"),
        ("person", _with_check_digit("32070319900230123"), "invalid birth date"),  # 30 Feb
        ("person", _with_check_digit("32070319901301123"), "invalid birth date"),  # month 13
        ("person", _with_check_digit("32070320990101123"), "invalid birth date"),  # future
        ("person", _with_check_digit("32070318800101123"), "unknown region code"),  # pre-1983
        ("person", _with_check_digit("99999919900101123"), "unknown region code"),
        ("person", "", "missing"),
        ("person", "  ", "missing"),
        ("enterprise", "91110000600037341M", "check digit does not match"),
        ("enterprise", "12345", "wrong length"),
        ("enterprise", "91110000600037341LL", "wrong length"),
        ("enterprise", "A1110000600037341L", "invalid characters"),
        ("enterprise", "9111000060003734IL", "invalid characters"),  # I is not used
        ("enterprise", "", "missing"),
    ],
)
def test_invalid_numbers(kind: str, number: str, reason: str) -> None:
    assert _reason(kind, number) == reason


def test_error_names_the_field_and_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^legal_person\.id_number: check digit") as info:
        validate_applicant_id("person", "110105194912310021", field="legal_person.id_number")
    assert isinstance(info.value, ApplicantIdError)
    assert info.value.field == "legal_person.id_number"
    assert info.value.reason == "check digit does not match"


def test_default_field_name() -> None:
    with pytest.raises(ApplicantIdError) as info:
        validate_applicant_id("enterprise", "12345")
    assert info.value.field == "applicant.id_number"
    assert str(info.value).startswith("applicant.id_number: wrong length")


def test_a_person_number_is_not_a_credit_code() -> None:
    assert _reason("enterprise", PERSON) == "check digit does not match"
    assert _reason("person", ENTERPRISE) == "check digit does not match"  # L is no check digit


def test_unknown_kind() -> None:
    assert _reason("robot", PERSON) == "unknown applicant kind"


def test_every_single_digit_error_in_the_order_code_is_caught() -> None:
    # ISO 7064 MOD 11-2 detects every single-digit substitution.
    number = generate_resident_id(random.Random(3), birth=date(1990, 5, 17))
    for position in (14, 15, 16):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            wrong = number[:position] + digit + number[position + 1:]
            assert _reason("person", wrong) == "check digit does not match", wrong


def test_generated_resident_ids_validate() -> None:
    rng = random.Random(20261128)
    seen = set()
    for _ in range(2000):
        number = generate_resident_id(rng)
        assert validate_applicant_id("person", number) == number
        assert ric.is_valid(number)
        assert number.startswith("320703")
        assert date(1983, 1, 1) <= ric.get_birth_date(number) <= date(2007, 12, 31)
        seen.add(number)
    assert len(seen) > 1990  # random, not one number repeated


def test_generated_resident_id_honours_region_and_birth() -> None:
    number = generate_resident_id(random.Random(1), region="110105", birth=date(1949, 12, 31))
    assert number[:14] == "11010519491231"
    assert validate_applicant_id("person", number) == number


def test_generation_is_reproducible_from_the_seed() -> None:
    assert generate_resident_id(random.Random(9)) == generate_resident_id(random.Random(9))
    assert generate_credit_code(random.Random(9)) == generate_credit_code(random.Random(9))


@pytest.mark.parametrize(
    ("region", "birth"),
    [("320703", date(1970, 1, 1)), ("999999", None), ("32070", date(1990, 1, 1))],
)
def test_generation_refuses_impossible_ids(region: str, birth: date | None) -> None:
    with pytest.raises(ValueError, match="cannot generate"):
        generate_resident_id(random.Random(1), region=region, birth=birth)


def test_generated_credit_codes_validate() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        code = generate_credit_code(rng)
        assert validate_applicant_id("enterprise", code) == code
        assert uscc.is_valid(code)
        assert code[:2] in {"91", "92", "93"}
        assert code[2:8] == "320703"


def test_generated_credit_code_region() -> None:
    assert generate_credit_code(random.Random(2), region="320700")[2:8] == "320700"
    with pytest.raises(ValueError, match="6-digit"):
        generate_credit_code(random.Random(2), region="3207")
