"""Load profiles as data: per-site rates over time, and users sized by Little's law.

Locust's model is closed: a user waits for each response. To offer a *rate*, each user is
paced with ``constant_throughput(1 / pace)``: one task per ``pace`` seconds as long as a
response takes less than ``pace``. Little's law then gives the users needed for a rate:
``users = rate × pace``, with ``pace ≥ p99 + think time``; a profile refuses a pace shorter
than its latency budget, because then the generator could not hold the rate.

Example::

    >>> from sunlight.control.load.shapes import PROFILES
    >>> PROFILES["inspection-season"].users_at(60).applicants  # ⌈0.89/s × 10 s⌉
    9
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Stage:
    """``duration_s`` seconds ending at these rates (per site); ``ramp`` rises linearly."""

    duration_s: float
    submit_rate: float  # submissions per second
    read_rate: float  # reads per second (catalogue, guides, status)
    ramp: bool = False


@dataclass(frozen=True)
class UserPlan:
    """How many of each paced user class to run at one moment."""

    applicants: int
    browsers: int

    @property
    def total(self) -> int:
        return self.applicants + self.browsers


@dataclass(frozen=True)
class Profile:
    """A named sequence of stages, with the paces that turn rates into users."""

    name: str
    description: str
    stages: tuple[Stage, ...]
    submit_pace_s: float = 10.0  # one submission per applicant per 10 s
    read_pace_s: float = 1.0  # one read per browser per second
    latency_budget_s: float = 2.0  # the p99 the pace must cover
    start_rates: tuple[float, float] | None = None  # where a first ramp starts from

    def __post_init__(self) -> None:
        if min(self.submit_pace_s, self.read_pace_s) < self.latency_budget_s / 2:
            raise ValueError(f"{self.name}: a pace shorter than half the latency budget "
                             "cannot hold its rate")
        if not self.stages or any(s.duration_s <= 0 for s in self.stages):
            raise ValueError(f"{self.name}: every stage needs a positive duration")

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    def rates_at(self, t: float) -> tuple[float, float] | None:
        """(submit, read) rates at ``t`` seconds; None once the profile is over."""
        first = self.stages[0]
        start, previous = 0.0, self.start_rates or (first.submit_rate, first.read_rate)
        for stage in self.stages:
            if t < start + stage.duration_s:
                if not stage.ramp:
                    return stage.submit_rate, stage.read_rate
                f = (t - start) / stage.duration_s
                return (previous[0] + f * (stage.submit_rate - previous[0]),
                        previous[1] + f * (stage.read_rate - previous[1]))
            start += stage.duration_s
            previous = (stage.submit_rate, stage.read_rate)
        return None

    def users_at(self, t: float) -> UserPlan:
        rates = self.rates_at(t) or (0.0, 0.0)
        return UserPlan(applicants=math.ceil(rates[0] * self.submit_pace_s),
                        browsers=math.ceil(rates[1] * self.read_pace_s))

    def peak(self) -> UserPlan:
        times = [0.0]
        for s in self.stages:
            times.append(times[-1] + s.duration_s - 1e-6)
        plans = [self.users_at(t) for t in times]
        return UserPlan(max(p.applicants for p in plans), max(p.browsers for p in plans))

    def scaled(self, duration_s: float | None = None, rate_factor: float = 1.0) -> Profile:
        """The same shape squeezed into ``duration_s`` and/or scaled in rate (CI runs)."""
        k = (duration_s / self.duration_s) if duration_s else 1.0
        stages = tuple(replace(s, duration_s=s.duration_s * k,
                               submit_rate=s.submit_rate * rate_factor,
                               read_rate=s.read_rate * rate_factor) for s in self.stages)
        start = self.start_rates
        if start:
            start = (start[0] * rate_factor, start[1] * rate_factor)
        return replace(self, stages=stages, start_rates=start)


# From DOMAIN.md: Bozhou 2,000+ cases a day per site; a working day of 8 hours.
DAILY_SUBMISSIONS = 2000
WORKING_DAY_S = 8 * 3600
DAILY_SUBMIT_RATE = DAILY_SUBMISSIONS / WORKING_DAY_S  # ≈ 0.07 submissions/s
READS_PER_WRITE = 20
# Inspection season: 20× the daily volume, the busiest hour carrying 8% of the day.
SEASON_SUBMIT_RATE = 20 * DAILY_SUBMISSIONS * 0.08 / 3600  # ≈ 0.89/s, "about 1/s"
SEASON_READ_RATE = 50.0

PROFILES: dict[str, Profile] = {
    p.name: p for p in (
        Profile("daily", "an ordinary day: ~2,000 submissions, reads ~20× writes",
                (Stage(600, DAILY_SUBMIT_RATE, DAILY_SUBMIT_RATE * READS_PER_WRITE),)),
        Profile("inspection-season", "the annual-inspection busiest hour: ~1 submission/s "
                "and ~50 reads/s, held 10 minutes",
                (Stage(600, round(SEASON_SUBMIT_RATE, 2), SEASON_READ_RATE),)),
        Profile("deadline-spike", "from the inspection-season rates, ramp to 5× within 2 "
                "minutes, held 5",
                (Stage(120, 5 * round(SEASON_SUBMIT_RATE, 2), 5 * SEASON_READ_RATE, ramp=True),
                 Stage(300, 5 * round(SEASON_SUBMIT_RATE, 2), 5 * SEASON_READ_RATE)),
                start_rates=(round(SEASON_SUBMIT_RATE, 2), SEASON_READ_RATE)),
        Profile("smoke", "a short check of the machinery: 0.5 submissions/s, 5 reads/s",
                (Stage(60, 0.5, 5.0),)),
    )
}
