"""Working days around China's 2024/2025 Spring Festival and National Day holidays.

Every expected date below was worked out by hand from the State Council arrangements and
the ``chinese_calendar`` data is checked against the same facts first, so a wrong calendar
and a wrong counting rule both fail.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, timedelta

import chinese_calendar
import pytest

from sunlight.workflow.deadlines import (
    CalendarCoverageWarning,
    add_working_days,
    calendar_covers,
    due_date,
    is_overdue,
    is_working_day,
    remaining_working_days,
    reset_coverage_warnings,
    working_days_between,
)

D = date.fromisoformat

#: Weekend days that were working days (调休上班), with the holiday they paid for.
ADJUSTED_WORKING_DAYS = [
    ("2024-02-04", "Spring Festival"),
    ("2024-02-18", "Spring Festival"),
    ("2024-09-29", "National Day"),
    ("2024-10-12", "National Day"),
    ("2025-01-26", "Spring Festival"),
    ("2025-02-08", "Spring Festival"),
    ("2025-09-28", "National Day"),
    ("2025-10-11", "National Day"),
]
#: Weekdays that were holidays.
WEEKDAY_HOLIDAYS = [
    "2024-02-12", "2024-02-16", "2024-10-01", "2024-10-04", "2024-10-07",
    "2025-01-28", "2025-01-31", "2025-02-03", "2025-02-04",
    "2025-10-01", "2025-10-06", "2025-10-08",
]


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    reset_coverage_warnings()
    yield
    reset_coverage_warnings()


def _first_uncovered_year() -> int:
    return next(y for y in range(2026, 2200) if not calendar_covers(y))


@pytest.mark.parametrize(("day", "holiday"), ADJUSTED_WORKING_DAYS)
def test_adjusted_weekend_days_are_working_days(day: str, holiday: str) -> None:
    d = D(day)
    assert d.weekday() >= 5, "the fixture must list weekend days"
    assert chinese_calendar.get_holiday_detail(d) == (False, holiday)
    assert is_working_day(d)


@pytest.mark.parametrize("day", WEEKDAY_HOLIDAYS)
def test_weekday_holidays_are_not_working_days(day: str) -> None:
    d = D(day)
    assert d.weekday() < 5
    assert chinese_calendar.is_holiday(d)
    assert not is_working_day(d)


def test_ordinary_days() -> None:
    assert is_working_day(D("2024-02-09"))  # 除夕 2024 was a working Friday
    assert is_working_day(D("2025-03-03"))  # a Monday
    assert not is_working_day(D("2025-03-08"))  # a Saturday


def test_matches_the_calendar_on_every_day_of_2024_and_2025() -> None:
    d = D("2024-01-01")
    while d.year < 2026:
        assert is_working_day(d) is chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2024-02-02", 1, "2024-02-04"),  # Friday + 1 = working Sunday
        ("2024-02-08", 2, "2024-02-18"),  # 9th, then the whole festival, then working Sunday
        ("2024-02-08", 3, "2024-02-19"),
        ("2024-09-27", 2, "2024-09-30"),  # working Sunday 29th, Monday 30th
        ("2024-09-27", 5, "2024-10-10"),  # 29th, 30th, 8th, 9th, 10th
        ("2024-10-10", 2, "2024-10-12"),  # Saturday 12th works
        ("2024-09-20", 20, "2024-10-23"),  # a 20-working-day statutory licence limit
        ("2025-01-24", 1, "2025-01-26"),
        ("2025-01-24", 3, "2025-02-05"),  # 26th, 27th, festival 28th-4th, 5th
        ("2025-02-07", 1, "2025-02-08"),
        ("2025-09-26", 3, "2025-09-30"),
        ("2025-09-26", 4, "2025-10-09"),  # eight days off, 1st-8th, with Mid-autumn
        ("2025-09-26", 6, "2025-10-11"),
        ("2025-09-19", 20, "2025-10-23"),
    ],
)
def test_add_working_days_across_holidays(start: str, days: int, expected: str) -> None:
    assert add_working_days(D(start), days) == D(expected)


def test_add_zero_days() -> None:
    assert add_working_days(D("2024-10-08"), 0) == D("2024-10-08")
    assert add_working_days(D("2024-10-01"), 0) == D("2024-10-08")  # holiday: next working day
    assert add_working_days(D("2024-09-28"), 0) == D("2024-09-29")  # Saturday → working Sunday


def test_add_negative_days_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        add_working_days(D("2024-10-08"), -1)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2024-09-30", "2024-10-08", 1),  # only the 8th; start not counted
        ("2024-09-28", "2024-09-30", 2),  # Sunday 29th and Monday 30th
        ("2025-01-27", "2025-02-08", 4),  # 5th, 6th, 7th, Saturday 8th; not the 27th itself
        ("2025-09-30", "2025-10-09", 1),
        ("2024-10-08", "2024-10-08", 0),
        ("2024-10-08", "2024-09-30", -1),
        ("2024-10-14", "2024-10-10", -3),  # 11th, Saturday 12th, 14th
    ],
)
def test_working_days_between(start: str, end: str, expected: int) -> None:
    assert working_days_between(D(start), D(end)) == expected


def test_working_days_between_inverts_add() -> None:
    start = D("2024-01-01")
    for days in range(1, 300, 7):
        end = add_working_days(start, days)
        assert working_days_between(start, end) == days


def test_due_date_without_pauses() -> None:
    assert due_date(D("2025-01-20"), 10, []) == D("2025-02-08")  # a working Saturday
    assert due_date(D("2025-01-20"), 10) == D("2025-02-08")


def test_pause_extends_by_the_working_days_it_covered() -> None:
    # 补正 from Wed 22nd to Mon 27th covers 23rd, 24th, working Sunday 26th and 27th.
    paused = [(D("2025-01-22"), D("2025-01-27"))]
    assert due_date(D("2025-01-20"), 10, paused) == D("2025-02-13")


def test_pause_over_the_festival_costs_nothing() -> None:
    paused = [(D("2025-01-27"), D("2025-02-04"))]  # only holidays in (27th, 4th]
    assert due_date(D("2025-01-20"), 10, paused) == D("2025-02-08")


def test_several_pauses_add_up() -> None:
    paused = [
        (D("2024-09-23"), D("2024-09-25")),  # 24th, 25th
        (D("2024-09-30"), D("2024-10-08")),  # 8th
        (D("2024-10-08"), D("2024-10-12")),  # 9th, 10th, 11th, Saturday 12th
    ]
    # 20 + 7 working days after 20 Sept 2024: the 20-day date is 23 Oct, then 24, 25,
    # 28-31 and 1 Nov.
    assert due_date(D("2024-09-20"), 20, paused) == D("2024-11-01")


def test_open_pause_counts_until_today() -> None:
    paused: list[tuple[date, date | None]] = [(D("2025-09-26"), None)]
    # Paused today: nothing lost yet; 23rd-26th and working Sunday 28th.
    assert due_date(D("2025-09-22"), 5, paused, today=D("2025-09-26")) == D("2025-09-28")
    # Still paused on 9 Oct: 28th, 29th, 30th and 9th were lost, so 9 days after the 22nd.
    assert due_date(D("2025-09-22"), 5, paused, today=D("2025-10-09")) == D("2025-10-10")
    # Closing the pause on that day gives the same date.
    closed = [(D("2025-09-26"), D("2025-10-09"))]
    assert due_date(D("2025-09-22"), 5, closed) == D("2025-10-10")


@pytest.mark.parametrize(
    ("paused", "today", "message"),
    [
        ([(D("2025-09-26"), None)], None, "pass today"),
        ([(D("2025-09-23"), None), (D("2025-09-25"), D("2025-09-26"))], D("2025-10-09"),
         "not the last"),
        ([(D("2025-09-25"), D("2025-09-24"))], None, "before it stopped"),
        ([(D("2025-09-23"), D("2025-09-26")), (D("2025-09-25"), D("2025-09-29"))], None,
         "must not overlap"),
        ([(D("2025-09-19"), D("2025-09-23"))], None, "before the clock"),
    ],
)
def test_bad_pauses_are_refused(
    paused: list[tuple[date, date | None]], today: date | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        due_date(D("2025-09-22"), 5, paused, today=today)


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit_days"):
        due_date(D("2025-09-22"), -1)


def test_remaining_working_days() -> None:
    due = D("2024-10-10")
    assert remaining_working_days(due, today=D("2024-09-30")) == 3
    assert remaining_working_days(due, today=D("2024-10-01")) == 3  # holiday: same as 30th
    assert remaining_working_days(due, today=due) == 0
    assert remaining_working_days(due, today=D("2024-10-11")) == -1
    assert remaining_working_days(due, today=D("2024-10-14")) == -3
    assert not is_overdue(due, today=due)
    assert is_overdue(due, today=D("2024-10-11"))


def test_outside_the_calendar_falls_back_to_weekdays_and_warns_once_per_year() -> None:
    year = _first_uncovered_year()
    monday = next(D(f"{year}-03-{d:02d}") for d in range(1, 8) if D(f"{year}-03-{d:02d}")
                  .weekday() == 0)
    with pytest.warns(CalendarCoverageWarning, match=str(year)):
        assert is_working_day(monday)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second warning for the same year would raise
        assert not is_working_day(monday + timedelta(days=5))  # Saturday
        assert is_working_day(monday + timedelta(days=4))
    with pytest.warns(CalendarCoverageWarning, match=str(year + 1)):
        is_working_day(D(f"{year + 1}-06-01"))


def test_due_dates_run_past_the_end_of_the_calendar() -> None:
    year = _first_uncovered_year()
    last_covered = D(f"{year - 1}-12-31")
    start = last_covered - timedelta(days=7)
    with pytest.warns(CalendarCoverageWarning):
        due = add_working_days(start, 15)
    assert due.year == year
    # In the uncovered year only weekends are off, so the count is simple there.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarCoverageWarning)
        in_old_year = working_days_between(start, last_covered)
        expected = add_working_days(last_covered, 15 - in_old_year)
        assert working_days_between(start, due) == 15
    assert due == expected
    assert due.weekday() < 5


def test_years_before_the_calendar_also_fall_back() -> None:
    assert not calendar_covers(1999)
    with pytest.warns(CalendarCoverageWarning, match="1999"):
        assert add_working_days(D("1999-10-01"), 1) == D("1999-10-04")  # Fri → Mon
