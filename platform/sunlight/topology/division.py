"""GB/T 2260 division codes: a site's tier, and whether a parent is really its parent.

A code ``xxyyzz`` names a province (``xx0000``), a city (``xxyy00``) or a county-level
division. A county's parent is its city, except where the code says the province
administers it directly: ``yy == 90`` (e.g. 429004 仙桃市 under 420000), or the province is a
municipality (11, 12, 31, 50: e.g. 110105 朝阳区 under 110000). The grouping codes those
counties sit under (429000, 110100) are not sites.

Example::

    >>> from sunlight.topology.division import expected_parent, tier_of
    >>> tier_of("320700").value, expected_parent("320703"), expected_parent("429004")
    ('city', '320700', '420000')
"""

from __future__ import annotations

import re
from enum import StrEnum

# Province-level prefixes of GB/T 2260 (mainland provinces, regions, municipalities, plus
# 71 Taiwan, 81 Hong Kong, 82 Macao, which the standard lists).
PROVINCE_PREFIXES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
PROVINCE_ADMINISTERED = "90"
_CODE_RE = re.compile(r"^[0-9]{6}$")


class Tier(StrEnum):
    """The tier a site runs at, derived from its code."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class DivisionError(ValueError):
    """A code is malformed, or a parent is not the code's parent."""


def check_code(code: str) -> str:
    """Return ``code`` if it is a six-digit GB/T 2260 code that can name a site."""
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise DivisionError(f"{code!r} is not a six-digit GB/T 2260 code (quote it in YAML)")
    xx, yy, zz = code[:2], code[2:4], code[4:]
    if xx not in PROVINCE_PREFIXES:
        raise DivisionError(f"{code}: {xx} is not a GB/T 2260 province-level prefix")
    if yy == "00" and zz != "00":
        raise DivisionError(f"{code}: a county-level code needs a city part (digits 3-4)")
    if zz == "00" and yy == PROVINCE_ADMINISTERED:
        raise DivisionError(f"{code} only groups counties the province administers directly; "
                            f"it is not a site (its counties' parent is {xx}0000)")
    if zz == "00" and yy != "00" and xx in MUNICIPALITIES:
        raise DivisionError(f"{code} only groups a municipality's districts; it is not a "
                            f"site (they report to {xx}0000 directly)")
    return code


def tier_of(code: str) -> Tier:
    """The tier a (valid) code names."""
    check_code(code)
    if code[2:] == "0000":
        return Tier.PROVINCE
    if code[4:] == "00":
        return Tier.CITY
    return Tier.COUNTY


def expected_parent(code: str) -> str | None:
    """The only code that may be ``code``'s parent site (``None`` for a province)."""
    tier = tier_of(code)
    province = f"{code[:2]}0000"
    if tier is Tier.PROVINCE:
        return None
    if tier is Tier.CITY:
        return province
    if code[2:4] == PROVINCE_ADMINISTERED or code[:2] in MUNICIPALITIES:
        return province
    return f"{code[:4]}00"


def check_parent(code: str, parent: str | None) -> str | None:
    """Return ``parent`` if it is ``code``'s parent; raise naming the rule otherwise."""
    expected = expected_parent(code)
    if expected is None:
        if parent:
            raise DivisionError(f"{code} is a province: it has no parent (got {parent})")
        return None
    if not parent:
        raise DivisionError(f"{code} is a {tier_of(code).value}: its parent must be {expected}")
    if parent != expected:
        why = _rule(code)
        raise DivisionError(f"{parent} is not the parent of {code}: {why} ({expected})")
    return parent


def _rule(code: str) -> str:
    tier = tier_of(code)
    if tier is Tier.CITY:
        return "a city's parent is its province"
    if code[2:4] == PROVINCE_ADMINISTERED:
        return "a province-administered county's (yy = 90) parent is its province"
    if code[:2] in MUNICIPALITIES:
        return "a municipality district's parent is the municipality"
    return "a county's parent is its city"
