"""Load profiles: stated rates per site, Little's-law sizing, ramps, scaling."""

from __future__ import annotations

import math

import pytest

from sunlight.control.load.shapes import (
    DAILY_SUBMIT_RATE,
    PROFILES,
    SEASON_SUBMIT_RATE,
    Profile,
    Stage,
)


def test_daily_is_two_thousand_a_day_with_reads_twenty_times() -> None:
    daily = PROFILES["daily"]
    submit, read = daily.rates_at(0) or (0, 0)
    assert submit * 8 * 3600 == pytest.approx(2000)
    assert read / submit == pytest.approx(20)
    assert submit == DAILY_SUBMIT_RATE


def test_inspection_season_is_twenty_times_daily_busiest_hour_eight_percent() -> None:
    assert pytest.approx(40_000 * 0.08 / 3600) == SEASON_SUBMIT_RATE
    season = PROFILES["inspection-season"]
    assert season.rates_at(599) == (0.89, 50.0)
    assert season.duration_s == 600
    assert season.rates_at(600) is None  # over: the shape stops the run


def test_users_follow_littles_law() -> None:
    season = PROFILES["inspection-season"]
    plan = season.users_at(10)
    # users = rate × pace: 0.89/s × 10 s → 9 applicants rounded up; 50/s × 1 s → 50 browsers.
    assert plan.applicants == math.ceil(0.89 * season.submit_pace_s)
    assert plan.browsers == 50
    assert plan.total == plan.applicants + plan.browsers


def test_deadline_spike_ramps_to_five_times_in_two_minutes_then_holds() -> None:
    spike = PROFILES["deadline-spike"]
    start, mid, top = spike.rates_at(0), spike.rates_at(60), spike.rates_at(119.9)
    assert start and mid and top
    assert start == (0.89, 50.0)  # starts at the inspection-season rates
    assert start[0] < mid[0] < top[0] == pytest.approx(5 * 0.89, rel=0.01)
    assert spike.rates_at(300) == (pytest.approx(4.45), pytest.approx(250.0))
    assert spike.duration_s == 420
    assert spike.peak().browsers == 250


def test_scaled_keeps_the_shape() -> None:
    short = PROFILES["deadline-spike"].scaled(duration_s=42, rate_factor=0.1)
    assert short.duration_s == pytest.approx(42)
    assert short.rates_at(41.9) == (pytest.approx(0.445), pytest.approx(25.0))


def test_a_pace_that_cannot_hold_the_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        Profile("bad", "", (Stage(10, 1, 1),), submit_pace_s=0.5, latency_budget_s=2.0)
    with pytest.raises(ValueError, match="positive duration"):
        Profile("bad", "", (Stage(0, 1, 1),))
