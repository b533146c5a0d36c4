"""Working-day arithmetic for statutory and promised time limits (法定/承诺时限).

Time limits in the power-item library are counted in working days (工作日). China moves
working days around its statutory holidays: the Spring Festival and National Day weeks are
paid for with "adjusted working days" (调休) on nearby Saturdays and Sundays. The official
calendar comes from the ``chinese_calendar`` package, which covers a fixed range of years
(2004-2026 at the time of writing) and is updated each year when the State Council publishes
the next year's arrangement. Outside that range we fall back to Monday-Friday and warn once
per year, so that a case started in late 2026 still gets a due date in 2027.

Counting convention (as for 行政许可法 time limits): the day something happens is not
counted; the limit runs from the next working day. A pause (补正 correction request or
中止 suspension) from ``stop`` to ``restart`` extends the due date by the working days in
``(stop, restart]``: the day the clock stopped was still a working day for the office, and
the day materials come back is, like the day of application, not counted.

Example::

    >>> from datetime import date
    >>> is_working_day(date(2024, 10, 1)), is_working_day(date(2024, 9, 29))  # 国庆, 调休
    (False, True)
    >>> add_working_days(date(2024, 9, 27), 5)  # Sun 29th, Mon 30th, then 8th, 9th, 10th
    datetime.date(2024, 10, 10)
    >>> # 补正 from the 30th to the 9th covers the 8th and 9th: two more days, and
    >>> # Saturday the 12th is an adjusted working day.
    >>> due_date(date(2024, 9, 27), 5, [(date(2024, 9, 30), date(2024, 10, 9))])
    datetime.date(2024, 10, 12)
    >>> remaining_working_days(date(2024, 10, 10), today=date(2024, 10, 14))  # 11th, 12th, 14th
    -3
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = [
    "CalendarCoverageWarning",
    "add_working_days",
    "calendar_covers",
    "due_date",
    "is_overdue",
    "is_working_day",
    "remaining_working_days",
    "reset_coverage_warnings",
    "working_days_between",
]

_ONE_DAY = timedelta(days=1)
_warned_years: set[int] = set()


class CalendarCoverageWarning(UserWarning):
    """A date lies outside the years the holiday calendar knows; Monday-Friday was assumed."""


@lru_cache(maxsize=128)
def calendar_covers(year: int) -> bool:
    """Whether the installed ``chinese_calendar`` knows the holidays of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def reset_coverage_warnings() -> None:
    """Forget which years were already warned about (for tests)."""
    _warned_years.clear()


@lru_cache(maxsize=64)
def _working_days_of(year: int) -> frozenset[int] | None:
    """The ordinals of ``year``'s working days, read from the calendar once (its own
    look-up scans the holiday table on every call: the supervision tick asks millions of
    times); ``None`` outside the calendar's years."""
    if not calendar_covers(year):
        return None
    day, days = date(year, 1, 1), set()
    while day.year == year:
        if chinese_calendar.is_workday(day):
            days.add(day.toordinal())
        day += _ONE_DAY
    return frozenset(days)


def is_working_day(d: date) -> bool:
    """Whether ``d`` is a working day under China's official holiday arrangement.

    Outside the calendar's years, Monday-Friday are working days and a
    :class:`CalendarCoverageWarning` is emitted once per year.
    """
    known = _working_days_of(d.year)
    if known is not None:
        return d.toordinal() in known
    if d.year not in _warned_years:
        _warned_years.add(d.year)
        warnings.warn(
            f"chinese_calendar has no holiday data for {d.year}; counting Monday-Friday as "
            "working days. Upgrade chinesecalendar once the State Council publishes the year.",
            CalendarCoverageWarning,
            stacklevel=2,
        )
    return d.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself is not counted).

    ``days=0`` gives ``start`` if it is a working day, else the next working day.
    """
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}")
    current = start
    if days == 0:
        while not is_working_day(current):
            current += _ONE_DAY
        return current
    remaining = days
    while remaining:
        current += _ONE_DAY
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days in ``(start, end]``; negative (the count in ``(end, start]``) if end < start."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    current = start
    while current < end:
        current += _ONE_DAY
        if is_working_day(current):
            count += 1
    return count


def _closed_pauses(
    started_on: date, paused: Sequence[tuple[date, date | None]], today: date | None
) -> list[tuple[date, date]]:
    """Check pause intervals and close an open one at ``today``."""
    closed: list[tuple[date, date]] = []
    previous_restart = started_on
    for position, (stop, restart) in enumerate(paused, start=1):
        if restart is None:
            if position != len(paused):
                raise ValueError(f"pause {position} is still open but is not the last one")
            if today is None:
                raise ValueError("the case is still paused: pass today= to compute its due date")
            restart = max(today, stop)
        if stop < previous_restart:
            raise ValueError(
                f"pause {position} stops on {stop}, before the clock was running again "
                f"({previous_restart}); pauses must be in order and must not overlap"
            )
        if restart < stop:
            raise ValueError(f"pause {position} restarts on {restart}, before it stopped ({stop})")
        closed.append((stop, restart))
        previous_restart = restart
    return closed


def due_date(
    started_on: date,
    limit_days: int,
    paused: Sequence[tuple[date, date | None]] = (),
    today: date | None = None,
) -> date:
    """A case's due date: ``limit_days`` working days after ``started_on``, plus pauses.

    ``paused`` lists ``(stopped_on, restarted_on)`` in order; each extends the due date by
    the working days in ``(stopped_on, restarted_on]``. The last may have
    ``restarted_on=None`` (still paused): the due date is then computed as if the clock
    restarted on ``today``, which must be given — so it moves later each working day the
    case stays paused.
    """
    if limit_days < 0:
        raise ValueError(f"limit_days must be 0 or more, got {limit_days}")
    extension = sum(
        working_days_between(stop, restart)
        for stop, restart in _closed_pauses(started_on, paused, today)
    )
    return add_working_days(started_on, limit_days + extension)


def remaining_working_days(due: date, today: date) -> int:
    """Working days left until ``due`` (0 on the due date); negative when overdue.

    A case due on a Friday is 0 on the weekend after it and -1 on Monday: no working day
    has passed yet. Use :func:`is_overdue` for the calendar test.
    """
    return working_days_between(today, due)


def is_overdue(due: date, today: date) -> bool:
    """Whether ``today`` is after ``due`` (the case should already have been finished)."""
    return today > due
