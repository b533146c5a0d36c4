"""Per-case ordering: whatever order and however often events arrive, each applies once,
in sequence."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from sunlight.runtime.exchange.sequencing import Gap, drain, missing, place


@pytest.mark.parametrize("applied, seq, expected", [
    (0, 1, "apply"), (0, 2, "hold"), (4, 5, "apply"), (4, 4, "stale"), (4, 1, "stale"),
    (4, 9, "hold"),
])
def test_place(applied: int, seq: int, expected: str) -> None:
    assert place(applied, seq) == expected


def test_drain_stops_at_the_first_missing_number() -> None:
    assert drain(0, [2, 3]) == []
    assert drain(1, [2, 3, 5]) == [2, 3]
    assert drain(1, []) == []
    assert missing(1, [5, 3]) == [2]
    assert missing(1, []) == []


class View:
    """What the database view does with placements and drains, in memory."""

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.held: set[int] = set()

    def receive(self, seq: int) -> None:
        last = self.applied[-1] if self.applied else 0
        placement = place(last, seq)
        if placement == "hold":
            self.held.add(seq)
        elif placement == "apply":
            self.applied.append(seq)
            for n in drain(seq, self.held):
                self.applied.append(n)
                self.held.discard(n)


@pytest.mark.parametrize("seed", range(25))
def test_shuffled_and_duplicated_deliveries_apply_each_event_once_in_order(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    deliveries = list(range(1, n + 1)) + rng.choices(range(1, n + 1), k=rng.randint(0, n))
    rng.shuffle(deliveries)
    view = View()
    for seq in deliveries:
        view.receive(seq)
    assert view.applied == list(range(1, n + 1))
    assert not view.held


def test_a_gap_is_overdue_after_the_alert_and_names_what_is_missing() -> None:
    since = datetime(2026, 12, 1, 8, 0)
    gap = Gap("320703", "320703-20261201-000001", applied=2, held=(5, 6), since=since)
    assert gap.missing == [3, 4]
    assert not gap.overdue(since + timedelta(seconds=299), alert_after_s=300)
    assert gap.overdue(since + timedelta(seconds=301), alert_after_s=300)
