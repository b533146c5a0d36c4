"""Random inspection (随机督查): a reproducible sample of a department's closed cases.

The population is a department's cases closed (办结) in one calendar month; a supervisor
asks for a sample by ``size`` or by ``share`` of the population, and the draw is
:func:`draw` — :class:`random.Random` seeded with the recorded ``seed``, sampling the
population sorted by receipt — so the same seed and the same population always give the
same sample, and anyone can check a draw afterwards: the draw also records the population's
size and :func:`population_digest`. Findings on the sampled cases are ``ok`` or
``problem`` with a category (:data:`CATEGORIES`) and a text.

Example::

    >>> population = [f"320703-20261201-{n:06d}" for n in range(1, 21)]
    >>> sample = draw(population, seed=42, size=3)
    >>> sample == draw(list(reversed(population)), seed=42, size=3)  # order does not matter
    True
    >>> len(draw(population, seed=7, share=0.25)), len(draw(population, seed=7, size=99))
    (5, 20)
    >>> month_bounds("2026-12")
    (datetime.date(2026, 12, 1), datetime.date(2027, 1, 1))
    >>> sample_size(20, share=0.01)  # a share never rounds a non-empty population to nothing
    1
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterable
from datetime import date

MONTH = re.compile(r"^(?P<year>20\d\d)-(?P<month>0[1-9]|1[0-2])$")
MAX_SEED = 2**63 - 1
MAX_SAMPLE = 1000

#: Finding categories (problem found), with the names supervisors read.
CATEGORIES = {
    "timeliness": "超时办理",
    "procedure": "程序不规范",
    "materials": "材料不齐全",
    "documents": "文书不规范",
    "discretion": "裁量不当",
    "offline": "网下办理、网上登记",
    "other": "其他",
}
RESULTS = {"ok": "未发现问题", "problem": "发现问题"}


def month_bounds(month: str) -> tuple[date, date]:
    """``YYYY-MM`` → (its first day, the first day of the next month)."""
    found = MONTH.match(month)
    if not found:
        raise ValueError(f"month must be YYYY-MM (2000-2099), got {month!r}")
    year, number = int(found["year"]), int(found["month"])
    start = date(year, number, 1)
    end = date(year + (number == 12), number % 12 + 1, 1)
    return start, end


def sample_size(population: int, *, size: int | None = None, share: float | None = None) -> int:
    """How many cases to draw: ``size`` or ``share`` (0 < share ≤ 1, rounded up), at most
    the population."""
    if (size is None) == (share is None):
        raise ValueError("give either size or share")
    if size is not None:
        if size < 1:
            raise ValueError(f"size must be 1 or more, got {size}")
        wanted = size
    else:
        assert share is not None
        if not 0 < share <= 1:
            raise ValueError(f"share must be above 0 and at most 1, got {share}")
        wanted = max(1, math.ceil(round(population * share, 9)))
    return min(wanted, population)


def draw(population: Iterable[str], *, seed: int, size: int | None = None,
         share: float | None = None) -> list[str]:
    """The sample (sorted by receipt): ``random.Random(seed)`` over the sorted population."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be 0 to {MAX_SEED}, got {seed}")
    ordered = sorted(set(population))
    k = sample_size(len(ordered), size=size, share=share)
    # Reproducible by design (the seed is recorded and published), not a secret.
    return sorted(random.Random(seed).sample(ordered, k))  # noqa: S311


def population_digest(population: Iterable[str]) -> str:
    """SHA-256 of the sorted receipts, one per line: what the draw was taken from."""
    text = "".join(f"{receipt}\n" for receipt in sorted(set(population)))
    return hashlib.sha256(text.encode()).hexdigest()
