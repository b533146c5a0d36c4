"""A case turns yellow, then red, across a statutory holiday with adjusted working days (调休).

The calendar facts are checked first (as tests/workflow/test_deadlines.py does), so a wrong
calendar and a wrong count both fail. The default rules warn at 2 working days (or 20 % of
the limit) left and alarm once overdue.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sunlight.supervision.evaluate import Light, evaluate
from sunlight.supervision.facts import Move
from sunlight.supervision.rules import default_rules
from sunlight.workflow.deadlines import is_working_day
from tests.supervision.builders import as_known_at, at, facts, move

RULES = default_rules("320703")


def _lights(case_start: str, first: str, last: str, *history: Move) -> dict[str, Light]:
    """The case's light at 17:00 each day, from what was known about it then."""
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    out: dict[str, Light] = {}
    while day <= end:
        now = at(day.isoformat(), 17)
        case = as_known_at(history, now, submitted_at=at(case_start))
        out[day.isoformat()] = evaluate(case, RULES, now=now).light
        day += timedelta(days=1)
    return out


def _runs(lights: dict[str, Light]) -> list[tuple[str, str]]:
    """The first day of each run of one light: [(day, light), ...]."""
    runs: list[tuple[str, str]] = []
    for day, light in lights.items():
        if not runs or runs[-1][1] != light.value:
            runs.append((day, light.value))
    return runs


def test_calendar_facts_national_day_2024() -> None:
    assert is_working_day(date(2024, 9, 29))      # Sunday, 调休
    assert not any(is_working_day(date(2024, 10, d)) for d in range(1, 8))
    assert is_working_day(date(2024, 10, 12))     # Saturday, 调休


def test_national_day_2024_yellow_then_red() -> None:
    # Submitted Fri 27 Sep, 5 working days: 29 Sep (Sun, 调休), 30 Sep, then 8, 9, 10 Oct.
    lights = _lights("2024-09-27", "2024-09-27", "2024-10-14")
    assert _runs(lights) == [("2024-09-27", "none"), ("2024-10-08", "yellow"),
                             ("2024-10-11", "red")]
    # Counting Monday-Friday would have warned on 2 Oct (a holiday) and alarmed on 7 Oct.
    assert lights["2024-10-07"] is Light.none


def test_national_day_2024_with_correction_over_the_holiday() -> None:
    # 补正 from 30 Sep to 9 Oct: while the applicant is away the clock stands (3 working days
    # left, green throughout the holiday); the pause adds 8 and 9 Oct, so the case is due on
    # Sat 12 Oct, an adjusted working day: yellow from 10 Oct, red on Sunday 13 Oct.
    history = (move("request_correction", at("2024-09-30", 10)),
               move("resubmit", at("2024-10-09", 10)))
    lights = _lights("2024-09-27", "2024-09-27", "2024-10-14", *history)
    assert _runs(lights) == [("2024-09-27", "none"), ("2024-10-10", "yellow"),
                             ("2024-10-13", "red")]


@pytest.mark.parametrize(("day", "light"), [
    ("2025-01-27", Light.none),     # 3 working days left before the break
    ("2025-02-04", Light.none),     # last day of the Spring Festival: still 3 left
    ("2025-02-05", Light.yellow),   # first working day after it: 2 left
    ("2025-02-07", Light.yellow),   # the due date
    ("2025-02-08", Light.red),      # Saturday, but an adjusted working day (调休)
])
def test_spring_festival_2025(day: str, light: Light) -> None:
    # Submitted Fri 24 Jan, 5 working days: 26 Jan (Sun, 调休), 27 Jan, then 5, 6, 7 Feb.
    case = facts(submitted="2025-01-24")
    assert evaluate(case, RULES, now=at(day, 17)).light is light
