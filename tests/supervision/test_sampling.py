"""Random inspection (随机督查): the sample is reproducible from the seed and the population."""

from __future__ import annotations

import doctest
import random
from datetime import date

import pytest

from sunlight.supervision import sampling
from sunlight.supervision.sampling import (
    CATEGORIES,
    draw,
    month_bounds,
    population_digest,
    sample_size,
)

POPULATION = [f"320703-202612{d:02d}-{n:06d}" for d in range(1, 29) for n in range(1, 8)]


def test_docstring_examples() -> None:
    result = doctest.testmod(sampling, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_same_seed_and_population_give_the_same_sample_whatever_the_order() -> None:
    shuffled = POPULATION[:]
    random.Random(3).shuffle(shuffled)
    first = draw(POPULATION, seed=20261203, size=10)
    assert first == draw(shuffled, seed=20261203, size=10)
    assert first == draw(POPULATION + POPULATION[:5], seed=20261203, size=10)  # duplicates
    assert first == sorted(first) and len(set(first)) == 10
    assert set(first) <= set(POPULATION)


def test_the_draw_is_random_sample_over_the_sorted_population() -> None:
    expected = sorted(random.Random(99).sample(sorted(POPULATION), 7))
    assert draw(reversed(POPULATION), seed=99, size=7) == expected


def test_another_seed_or_population_gives_another_sample() -> None:
    samples = {tuple(draw(POPULATION, seed=seed, size=10)) for seed in range(20)}
    assert len(samples) == 20
    assert draw(POPULATION, seed=1, size=10) != draw(POPULATION[1:], seed=1, size=10)


@pytest.mark.parametrize("population, kwargs, expected", [
    (196, {"size": 10}, 10),
    (5, {"size": 10}, 5),
    (196, {"share": 0.1}, 20),  # 19.6 rounds up
    (10, {"share": 0.3}, 3),  # 0.3 × 10 is 3.0000000000000004 in floating point
    (196, {"share": 1.0}, 196),
    (3, {"share": 1e-12}, 1),
    (0, {"share": 0.5}, 0),
])
def test_sample_size(population: int, kwargs: dict[str, float], expected: int) -> None:
    assert sample_size(population, **kwargs) == expected


@pytest.mark.parametrize("kwargs, message", [
    ({}, "either size or share"),
    ({"size": 2, "share": 0.5}, "either size or share"),
    ({"size": 0}, "size must be 1"),
    ({"share": 0.0}, "share must be above 0"),
    ({"share": 1.5}, "share must be above 0"),
])
def test_bad_size_or_share(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample_size(10, **kwargs)


def test_bad_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        draw(POPULATION, seed=-1, size=1)
    with pytest.raises(ValueError, match="seed"):
        draw(POPULATION, seed=2**63, size=1)


def test_population_digest_ignores_order_and_duplicates() -> None:
    digest = population_digest(POPULATION)
    assert digest == population_digest(list(reversed(POPULATION)) + POPULATION[:2])
    assert digest != population_digest(POPULATION[1:])
    assert len(digest) == 64


@pytest.mark.parametrize("month, bounds", [
    ("2026-01", (date(2026, 1, 1), date(2026, 2, 1))),
    ("2026-12", (date(2026, 12, 1), date(2027, 1, 1))),
    ("2024-02", (date(2024, 2, 1), date(2024, 3, 1))),
])
def test_month_bounds(month: str, bounds: tuple[date, date]) -> None:
    assert month_bounds(month) == bounds


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "26-12", "2026/12", "1999-12"])
def test_bad_month(month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds(month)


def test_categories_have_chinese_names() -> None:
    assert "timeliness" in CATEGORIES and CATEGORIES["offline"] == "网下办理、网上登记"
