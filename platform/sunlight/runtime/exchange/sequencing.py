"""Per-case ordering at the receiving site: apply the next event, hold later ones, drop stale.

A case's events carry sequence numbers 1, 2, 3, … from their source. The receiver applies
event ``n`` only after ``n - 1``; an event that arrives early is held until the gap fills;
one at or below what was applied is a replay of something already applied. A gap that has
waited longer than the configured time is reported, naming the missing numbers.

Example::

    >>> place(applied=2, seq=3), place(applied=2, seq=5), place(applied=2, seq=2)
    ('apply', 'hold', 'stale')
    >>> drain(applied=3, held=[6, 4, 5, 8])
    [4, 5, 6]
    >>> missing(applied=3, held=[6, 8])
    [4, 5]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Placement = Literal["apply", "hold", "stale"]


def place(applied: int, seq: int) -> Placement:
    """Where event ``seq`` goes when ``applied`` is the last sequence applied (0: none)."""
    if seq <= applied:
        return "stale"
    return "apply" if seq == applied + 1 else "hold"


def drain(applied: int, held: Iterable[int]) -> list[int]:
    """The held sequence numbers that can now be applied, in order."""
    ready: list[int] = []
    pending = set(held)
    nxt = applied + 1
    while nxt in pending:
        ready.append(nxt)
        nxt += 1
    return ready


def missing(applied: int, held: Iterable[int]) -> list[int]:
    """The sequence numbers the receiver waits for before the first held one."""
    first = min(held, default=None)
    return [] if first is None else list(range(applied + 1, first))


@dataclass(frozen=True)
class Gap:
    """A case whose next event is missing while later ones wait.

    Example::

        >>> t0 = datetime(2026, 1, 1, 8)
        >>> g = Gap("320703", "320703-20260101-000001", applied=1, held=(3,), since=t0)
        >>> g.age(t0 + timedelta(minutes=6)).total_seconds(), g.missing
        (360.0, [2])
        >>> g.overdue(t0 + timedelta(minutes=6), alert_after_s=300)
        True
    """

    source: str
    receipt: str
    applied: int
    held: tuple[int, ...]
    since: datetime

    @property
    def missing(self) -> list[int]:
        return missing(self.applied, self.held)

    def age(self, now: datetime) -> timedelta:
        return now - self.since

    def overdue(self, now: datetime, alert_after_s: float) -> bool:
        return self.age(now).total_seconds() > alert_after_s
