"""Discretion lookup (自由裁量): the fine range a penalty item allows for a violation.

The legal supervision platform asks whether a proposed fine lies inside the range that the
item's discretion standard fixes for the violation and its severity (情节). Both ends of a
range are inclusive.

Example::

    >>> from decimal import Decimal
    >>> from sunlight.catalogue import sample_catalogue
    >>> item = sample_catalogue().item("320703-GAFJ-CF-001")
    >>> discretion_range(item, "V01", "general")
    (Decimal('50.00'), Decimal('150.00'))
    >>> within_discretion(item, "V01", "general", Decimal("200"))
    False
"""

from __future__ import annotations

from decimal import Decimal

from sunlight.catalogue.model import SEVERITIES, Category, DiscretionStandard, PowerItem


class DiscretionError(ValueError):
    """The lookup cannot be answered: not a penalty item, or unknown violation or severity."""


def discretion_range(item: PowerItem, violation: str, severity: str) -> tuple[Decimal, Decimal]:
    """The inclusive (min, max) fine in yuan for ``violation`` at ``severity``."""
    standard = _standard(item, violation)
    if severity not in SEVERITIES:
        raise DiscretionError(
            f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}"
        )
    for band in standard.bands:
        if band.severity == severity:
            return (band.min_yuan, band.max_yuan)
    defined = ", ".join(b.severity for b in standard.bands)
    raise DiscretionError(
        f"violation {violation!r} of item {item.code!r} has no {severity!r} band "
        f"(defined: {defined})"
    )


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
