"""Applicant identity numbers: checked with ``python-stdnum``, never hand-written check digits.

A person applies with the 18-character resident identity number (公民身份号码, GB 11643:
region, birth date, order code, check digit); an enterprise or other organisation with the
unified social credit code (统一社会信用代码, GB 32100). Forms must hold these as structured,
validated data (the reports insist on it), so the service hall rejects a bad number with the
field name and a reason the applicant can act on.

Input is normalized before checking: full-width characters typed with a Chinese input method
become ASCII (NFKC), spaces and hyphens are dropped, letters are upper-cased.

Example::

    >>> validate_applicant_id("person", "11010519491231002x")
    '11010519491231002X'
    >>> validate_applicant_id("enterprise", "9 1 110000 600037341L")
    '91110000600037341L'
    >>> try:
    ...     validate_applicant_id("person", "110105194912310021", field="legal_person.id")
    ... except ApplicantIdError as exc:
    ...     print(exc)
    legal_person.id: check digit does not match
    >>> import random
    >>> validate_applicant_id("person", generate_resident_id(random.Random(7))) is not None
    True
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta
from typing import Literal

from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

__all__ = [
    "ApplicantIdError",
    "ApplicantKind",
    "generate_credit_code",
    "generate_resident_id",
    "normalize_id",
    "validate_applicant_id",
]

ApplicantKind = Literal["person", "enterprise"]

#: Characters a USCC may use after the region code (GB 32100 excludes I, O, Z, S, V).
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Registering authority 9 (market regulation, formerly SAIC) and its entity types:
#: 1 enterprise, 2 individual business (个体工商户), 3 farmers' cooperative.
_USCC_PREFIXES = ("91", "92", "93")
_OLDEST_BIRTH = date(1900, 1, 1)
_OLDEST_GENERATED = date(1950, 1, 1)
_BIRTH_TRIES = 200


class ApplicantIdError(ValueError):
    """An applicant ID number is not valid; ``field`` and ``reason`` are for the form.

    ``reason`` is one of a few short fixed phrases ("wrong length", "invalid characters",
    "check digit does not match", "invalid birth date", "unknown region code", "missing",
    "unknown applicant kind") so callers may match on it; the message adds a hint.
    """

    def __init__(self, field: str, reason: str, hint: str = "") -> None:
        super().__init__(f"{field}: {reason}" + (f" ({hint})" if hint else ""))
        self.field = field
        self.reason = reason


def normalize_id(number: str) -> str:
    """Full-width to ASCII, drop whitespace and hyphens, upper-case."""
    text = unicodedata.normalize("NFKC", number)
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def _error(field: str, exc: ValidationError, kind: ApplicantKind) -> ApplicantIdError:
    if isinstance(exc, InvalidLength):
        return ApplicantIdError(field, "wrong length", "18 characters expected")
    if isinstance(exc, InvalidChecksum):
        return ApplicantIdError(field, "check digit does not match")
    if isinstance(exc, InvalidFormat):
        if kind == "person":
            return ApplicantIdError(field, "invalid characters", "17 digits, then a digit or X")
        return ApplicantIdError(
            field, "invalid characters", "8 digits, then digits or letters other than I O Z S V"
        )
    return ApplicantIdError(field, "invalid number")


def _check_person(number: str, field: str) -> str:
    try:
        compact = ric.validate(number)
    except InvalidComponent:
        # stdnum raises the same error for an impossible date and an unknown region.
        try:
            ric.get_birth_date(number)
        except InvalidComponent:
            raise ApplicantIdError(field, "invalid birth date", "digits 7-14") from None
        raise ApplicantIdError(field, "unknown region code", "digits 1-6") from None
    except ValidationError as exc:
        raise _error(field, exc, "person") from None
    birth = ric.get_birth_date(compact)
    if not _OLDEST_BIRTH <= birth <= date.today():
        raise ApplicantIdError(field, "invalid birth date", f"{birth} is not plausible")
    return compact


def validate_applicant_id(
    kind: ApplicantKind, number: str, field: str = "applicant.id_number"
) -> str:
    """Return the compact, normalized number or raise :class:`ApplicantIdError`.

    ``kind="person"`` checks a resident identity number (length, digits, check digit, birth
    date, region); ``kind="enterprise"`` a unified social credit code (length, alphabet,
    check digit).
    """
    compact = normalize_id(number)
    if not compact:
        raise ApplicantIdError(field, "missing")
    if kind == "person":
        return _check_person(compact, field)
    if kind == "enterprise":
        try:
            return uscc.validate(compact)
        except ValidationError as exc:
            raise _error(field, exc, "enterprise") from None
    raise ApplicantIdError(field, "unknown applicant kind", f"{kind!r}; person or enterprise")


def generate_resident_id(
    rng: random.Random, region: str = "320703", birth: date | None = None
) -> str:
    """A valid resident identity number for tests and load generation.

    ``region`` is a county-level division code; stdnum checks that it existed in the birth
    year (320703 连云区 dates from 1983). Without ``birth`` a random date between 1950 and
    2007 is drawn, again until the region fits.
    """
    births = [birth] if birth is not None else (_random_birth(rng) for _ in range(_BIRTH_TRIES))
    for candidate in births:
        body = f"{region}{candidate:%Y%m%d}{rng.randrange(1, 1000):03d}"
        # calc_check_digit expects the number with a check-digit position and ignores it.
        number = body + ric.calc_check_digit(body + "0")
        try:
            return _check_person(number, "generated")
        except ApplicantIdError:
            continue
    raise ValueError(
        f"cannot generate a valid ID for region {region!r}"
        + (f" and birth {birth}" if birth is not None else "")
        + ": unknown region, region not yet created in the birth year, or a future birth"
    )


def _random_birth(rng: random.Random) -> date:
    return _OLDEST_GENERATED + timedelta(days=rng.randrange(58 * 365))


def generate_credit_code(rng: random.Random, region: str = "320703") -> str:
    """A valid unified social credit code (registered by market regulation) for tests."""
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError(f"region must be a 6-digit division code, got {region!r}")
    prefix = rng.choice(_USCC_PREFIXES)
    organisation = "".join(rng.choice(_USCC_ALPHABET[:10]) for _ in range(8))
    organisation += rng.choice(_USCC_ALPHABET)
    body = prefix + region + organisation
    return uscc.validate(body + uscc.calc_check_digit(body))
