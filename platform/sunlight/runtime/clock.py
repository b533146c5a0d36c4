"""The time core reads: the system clock, shifted by an operator's offset in a drill.

Lights, deadlines, 督办 due dates and escalation all change with time alone, so every
piece of core that needs "now" takes a :class:`Clock` instead of calling
``datetime.now``. In production the clock is the system clock. For a supervision drill on
a staging site (and for the topology suite), an operator with root on the core host can
shift it: the file named by ``SUNLIGHT_CLOCK_OFFSET_FILE`` (the playbooks point it at
``/etc/sunlight/clock-offset``, root-owned; absent means no shift) holds a number of
seconds to add. That grants nothing root could not do with ``date -s``, and every reader
sees the shift: it is exported as the ``sunlight_clock_offset_seconds`` gauge and logged
when it changes. An unreadable or malformed file is an error, never a silent zero.

Unit tests use :class:`ManualClock` and advance it instead of sleeping.

Example::

    >>> from datetime import UTC, datetime, timedelta
    >>> clock = ManualClock(datetime(2024, 9, 30, 1, 0, tzinfo=UTC))
    >>> clock.today()  # Asia/Shanghai
    datetime.date(2024, 9, 30)
    >>> clock.advance(timedelta(days=8)); clock.today()
    datetime.date(2024, 10, 8)
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
MAX_OFFSET = timedelta(days=3660)  # a drill may look ten years ahead, not further

log = logging.getLogger(__name__)


class ClockOffsetError(ValueError):
    """The offset file exists but does not hold a usable number of seconds."""


def _system_now() -> datetime:
    return datetime.now(UTC)


class Clock:
    """The system clock plus the offset in ``offset_file`` (if given and present)."""

    def __init__(self, offset_file: Path | None = None,
                 base: Callable[[], datetime] = _system_now) -> None:
        self.offset_file = offset_file
        self._base = base
        self._cached: tuple[float, int, timedelta] | None = None  # mtime, size, offset

    def offset(self) -> timedelta:
        """The shift in force now (re-read whenever the file changes)."""
        if self.offset_file is None:
            return timedelta(0)
        try:
            st = os.stat(self.offset_file)
        except FileNotFoundError:
            if self._cached is not None:
                log.warning("clock offset removed: core runs on the system clock again")
            self._cached = None
            return timedelta(0)
        if self._cached and self._cached[:2] == (st.st_mtime, st.st_size):
            return self._cached[2]
        offset = parse_offset(self.offset_file.read_text(), str(self.offset_file))
        log.warning("clock offset in force: %s (from %s)", offset, self.offset_file)
        self._cached = (st.st_mtime, st.st_size, offset)
        return offset

    def now(self) -> datetime:
        """An aware datetime (UTC)."""
        return self._base() + self.offset()

    def today(self) -> date:
        """Today in China (Asia/Shanghai), where working days are counted."""
        return self.now().astimezone(CHINA).date()


class ManualClock(Clock):
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        super().__init__(None, lambda: self._now)

    def advance(self, by: timedelta) -> None:
        self._now += by

    def set(self, to: datetime) -> None:
        self._now = to


def parse_offset(text: str, source: str) -> timedelta:
    """Seconds (a decimal number, may be negative) within ±:data:`MAX_OFFSET`."""
    try:
        seconds = float(text.strip())
    except ValueError:
        raise ClockOffsetError(f"{source}: expected a number of seconds, got "
                               f"{text.strip()[:40]!r}") from None
    if not math.isfinite(seconds) or abs(seconds) > MAX_OFFSET.total_seconds():
        raise ClockOffsetError(f"{source}: {seconds} s is beyond ±{MAX_OFFSET.days} days")
    return timedelta(seconds=seconds)
