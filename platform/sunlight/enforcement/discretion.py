"""The band check of a penalty (自由裁量): inside the band, or an override by legal review.

The band is the item's discretion standard for the violation and its severity (情节)
(:mod:`sunlight.catalogue.discretion`; both ends inclusive). :func:`check_band` reads the
amount as the catalogue does (:func:`~sunlight.catalogue.discretion.parse_amount`: yuan, not
negative, at most two decimals) and answers with a :class:`BandCheck`; an amount outside
the band is refused with :class:`~sunlight.enforcement.errors.OutOfBand` naming the band —
unless legal review (法制审核) recorded an override with a written justification (for
example 减轻处罚 below the minimum under 《行政处罚法》第三十二条), in which case the check
passes and is flagged ``override=True`` for legal supervision (and the e-supervision rules)
to see.

Example::

    >>> from sunlight.catalogue import sample_catalogue
    >>> item = sample_catalogue().item("320703-GAFJ-CF-001")
    >>> check_band(item, "V01", "general", "150").inside
    True
    >>> try:
    ...     check_band(item, "V01", "general", "150.01")
    ... except OutOfBand as exc:
    ...     print(exc.band)
    一般 (general): 50.00–150.00 元
    >>> why = "当事人主动消除违法行为危害后果，依法减轻处罚"
    >>> checked = check_band(item, "V01", "general", "40", override=why)
    >>> checked.inside, checked.override, checked.amount
    (False, True, Decimal('40.00'))
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sunlight.catalogue.discretion import (
    AmountError,
    DiscretionError,
    discretion_band,
    parse_amount,
    violation_description,
)
from sunlight.catalogue.model import PowerItem
from sunlight.enforcement.errors import InvalidRecord, OutOfBand

__all__ = ["MIN_JUSTIFICATION_CHARS", "BandCheck", "check_band", "check_justification",
           "measure_band", "out_of_band", "read_amount"]

#: The shortest written justification an override takes: a sentence, not a tick.
MIN_JUSTIFICATION_CHARS = 10


@dataclass(frozen=True)
class BandCheck:
    """The outcome of a band check that passed: the band, the amount, and how it passed."""

    item_code: str
    violation: str
    severity: str
    label: str
    min_yuan: Decimal
    max_yuan: Decimal
    amount: Decimal
    inside: bool
    override: bool = False
    justification: str = ""

    @property
    def band(self) -> str:
        """The band as refusals name it: ``一般 (general): 50.00–150.00 元``."""
        return f"{self.label} ({self.severity}): {self.min_yuan}–{self.max_yuan} 元"


def read_amount(value: object, field: str) -> Decimal:
    """An amount in yuan, or :class:`InvalidRecord` naming ``field`` (negative, not a number,
    more than two decimals, too large, missing)."""
    try:
        return parse_amount(value, field=field)
    except AmountError as exc:
        raise InvalidRecord(str(exc).removeprefix(f"{exc.field}: "), field=exc.field) from None


def check_justification(text: str | None, field: str) -> str:
    """A written justification, stripped; :class:`InvalidRecord` if it is too short."""
    written = (text or "").strip()
    if len(written) < MIN_JUSTIFICATION_CHARS:
        raise InvalidRecord(
            f"an override needs a written justification of at least "
            f"{MIN_JUSTIFICATION_CHARS} characters (got {len(written)})", field=field)
    return written


def measure_band(item: PowerItem, violation: str, severity: str, amount: object, *,
                 prefix: str = "") -> BandCheck:
    """Where ``amount`` lies against the band, without refusing: ``inside`` says it.

    For a step that may hold an out-of-band amount for now (the intended decision of a
    notice, which legal review then overrides or returns). A bad amount, an unknown
    violation or severity, or a non-penalty item is :class:`InvalidRecord`.
    """
    value = read_amount(amount, f"{prefix}amount_yuan")
    try:
        violation_description(item, violation)
    except DiscretionError as exc:
        raise InvalidRecord(str(exc), field=f"{prefix}violation") from None
    try:
        band = discretion_band(item, violation, severity)
    except DiscretionError as exc:
        raise InvalidRecord(str(exc), field=f"{prefix}severity") from None
    return BandCheck(item_code=item.code, violation=violation, severity=band.severity,
                     label=band.label, min_yuan=band.min_yuan, max_yuan=band.max_yuan,
                     amount=value, inside=band.min_yuan <= value <= band.max_yuan)


def out_of_band(item: PowerItem, measured: BandCheck, field: str, extra: str = "") -> OutOfBand:
    """The refusal of an amount measured outside its band, naming the band."""
    side = "below" if measured.amount < measured.min_yuan else "above"
    description = violation_description(item, measured.violation)
    return OutOfBand(
        f"amount {measured.amount} 元 is {side} the band of violation {measured.violation} "
        f"({description}) at {measured.band}; only a legal-review override with a written "
        f"justification allows it{extra}", band=measured.band, field=field)


def check_band(item: PowerItem, violation: str, severity: str, amount: object, *,
               override: str | None = None, prefix: str = "") -> BandCheck:
    """Check ``amount`` against the band of ``violation`` at ``severity``.

    Inside the band (ends included) passes. Outside, it passes only with ``override`` (the
    legal reviewer's written justification), flagged; otherwise :class:`OutOfBand`. A bad
    amount, an unknown violation or severity, or a non-penalty item is
    :class:`InvalidRecord`; ``prefix`` is put before the field names (``decision.``).
    """
    measured = measure_band(item, violation, severity, amount, prefix=prefix)
    if measured.inside:
        return measured
    if override is None:
        raise out_of_band(item, measured, f"{prefix}amount_yuan")
    justification = check_justification(override, f"{prefix}override")
    return replace(measured, override=True, justification=justification)
