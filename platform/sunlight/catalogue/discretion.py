"""Discretion lookup (自由裁量): the fine range a penalty item allows for a violation.

The legal supervision platform asks whether a proposed fine lies inside the range that the
item's discretion standard fixes for the violation and its severity (情节). Both ends of a
range are inclusive. :func:`parse_amount` is the one reading of an amount typed by staff
(yuan, not negative, at most two decimals); :func:`describe_band` names a band the way a
refusal states it. The legal-review override of a band is enforcement's business
(:mod:`sunlight.enforcement.discretion`).

Example::

    >>> from decimal import Decimal
    >>> from sunlight.catalogue import sample_catalogue
    >>> item = sample_catalogue().item("320703-GAFJ-CF-001")
    >>> discretion_range(item, "V01", "general")
    (Decimal('50.00'), Decimal('150.00'))
    >>> within_discretion(item, "V01", "general", Decimal("200"))
    False
    >>> describe_band(discretion_band(item, "V01", "general"))
    '一般 (general): 50.00–150.00 元'
    >>> parse_amount("150.5")
    Decimal('150.50')
    >>> parse_amount("12.345", field="decision.amount_yuan")
    Traceback (most recent call last):
    ...
    sunlight.catalogue.discretion.AmountError: decision.amount_yuan: more than two decimals ...
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sunlight.catalogue.model import (
    SEVERITIES,
    Category,
    DiscretionBand,
    DiscretionStandard,
    PowerItem,
)

#: The largest amount the catalogue's money fields hold (14 digits, two of them decimals).
MAX_YUAN = Decimal("999999999999.99")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_FEN = Decimal("0.01")


class DiscretionError(ValueError):
    """The lookup cannot be answered: not a penalty item, or unknown violation or severity."""


class AmountError(ValueError):
    """An amount is not a usable yuan figure; ``field`` and ``reason`` are for the form.

    ``reason`` is one of a few fixed phrases callers may match on: ``"missing"``,
    ``"not a number"``, ``"negative"``, ``"more than two decimals"``, ``"too large"``.
    """

    def __init__(self, field: str, reason: str, hint: str = "") -> None:
        super().__init__(f"{field}: {reason}" + (f" ({hint})" if hint else ""))
        self.field = field
        self.reason = reason


def parse_amount(value: object, field: str = "amount_yuan") -> Decimal:
    """An amount in yuan as a two-place :class:`Decimal`, or :class:`AmountError`.

    Takes a Decimal, an int, a float (by its shortest repr) or text in plain decimal notation
    (``"1500"``, ``"1500.5"``; no exponent, no thousands separators, no currency sign). It
    refuses booleans, NaN and infinities, negatives, more than two decimals by value
    (``"150.000"`` is 150.00, ``"150.005"`` is refused) and amounts over :data:`MAX_YUAN`.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise AmountError(field, "missing")
    if isinstance(value, bool):
        raise AmountError(field, "not a number", f"got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN_NUMBER.fullmatch(text):
            raise AmountError(field, "not a number", f"got {value!r}; write yuan like 1500.50")
        number = Decimal(text)
    else:
        raise AmountError(field, "not a number", f"got {type(value).__name__}")
    if not number.is_finite():
        raise AmountError(field, "not a number", f"got {value!r}")
    if number < 0:
        raise AmountError(field, "negative", f"got {number}")
    number = number.copy_abs()  # -0 is 0
    try:
        fen = number.quantize(_FEN)
    except InvalidOperation:
        raise AmountError(field, "too large", f"at most {MAX_YUAN} yuan") from None
    if fen != number:
        raise AmountError(field, "more than two decimals",
                          f"got {number}; yuan are counted to the fen (0.01)")
    if fen > MAX_YUAN:
        raise AmountError(field, "too large", f"at most {MAX_YUAN} yuan")
    return fen


def discretion_band(item: PowerItem, violation: str, severity: str) -> DiscretionBand:
    """The band of ``violation`` at ``severity`` (its label and inclusive min and max)."""
    standard = _standard(item, violation)
    if severity not in SEVERITIES:
        raise DiscretionError(
            f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}"
        )
    for band in standard.bands:
        if band.severity == severity:
            return band
    defined = ", ".join(b.severity for b in standard.bands)
    raise DiscretionError(
        f"violation {violation!r} of item {item.code!r} has no {severity!r} band "
        f"(defined: {defined})"
    )


def discretion_range(item: PowerItem, violation: str, severity: str) -> tuple[Decimal, Decimal]:
    """The inclusive (min, max) fine in yuan for ``violation`` at ``severity``."""
    band = discretion_band(item, violation, severity)
    return (band.min_yuan, band.max_yuan)


def describe_band(band: DiscretionBand) -> str:
    """A band as a refusal names it: ``一般 (general): 50.00–150.00 元``."""
    return f"{band.label} ({band.severity}): {band.min_yuan}–{band.max_yuan} 元"


def violation_description(item: PowerItem, violation: str) -> str:
    """The description of ``violation`` in the item's discretion standard (违法行为)."""
    return _standard(item, violation).description


def within_discretion(item: PowerItem, violation: str, severity: str, amount: Decimal) -> bool:
    """Whether ``amount`` yuan lies inside the range (ends included)."""
    low, high = discretion_range(item, violation, severity)
    return low <= amount <= high


def _standard(item: PowerItem, violation: str) -> DiscretionStandard:
    if item.category is not Category.PENALTY:
        raise DiscretionError(
            f"item {item.code!r} ({item.name}) is {item.category.zh} ({item.category.value}), "
            "not a penalty item; only penalty items have discretion standards"
        )
    for standard in item.discretion:
        if standard.violation == violation:
            return standard
    known = ", ".join(s.violation for s in item.discretion)
    raise DiscretionError(
        f"item {item.code!r} has no violation {violation!r} (known: {known})"
    )
