"""Discretion lookup: ranges, inclusive edges, and clear refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sunlight.catalogue import (
    Catalogue,
    DiscretionError,
    PowerItem,
    discretion_range,
    within_discretion,
)
from tests.catalogue.builders import item_data, penalty_data


@pytest.fixture
def penalty() -> PowerItem:
    return PowerItem.model_validate(penalty_data())


def test_range_per_severity(penalty: PowerItem) -> None:
    assert discretion_range(penalty, "V01", "minor") == (Decimal("0"), Decimal("1000"))
    assert discretion_range(penalty, "V01", "general") == (Decimal("1000"), Decimal("3000"))
    assert discretion_range(penalty, "V01", "serious") == (Decimal("3000"), Decimal("5000"))


@pytest.mark.parametrize(
    ("amount", "inside"),
    [("1000", True), ("3000", True), ("2000.50", True), ("999.99", False), ("3000.01", False)],
)
def test_edges_are_inclusive(penalty: PowerItem, amount: str, inside: bool) -> None:
    assert within_discretion(penalty, "V01", "general", Decimal(amount)) is inside


def test_unknown_violation(penalty: PowerItem) -> None:
    with pytest.raises(DiscretionError, match=r"no violation 'V09' \(known: V01\)"):
        discretion_range(penalty, "V09", "minor")


def test_unknown_severity(penalty: PowerItem) -> None:
    with pytest.raises(DiscretionError, match="unknown severity 'grave'"):
        within_discretion(penalty, "V01", "grave", Decimal("1"))


def test_severity_without_a_band() -> None:
    data = penalty_data()
    data["discretion"][0]["bands"] = data["discretion"][0]["bands"][1:]
    item = PowerItem.model_validate(data)
    with pytest.raises(DiscretionError, match=r"no 'minor' band \(defined: general, serious\)"):
        discretion_range(item, "V01", "minor")


def test_non_penalty_item_is_refused() -> None:
    item = PowerItem.model_validate(item_data())
    with pytest.raises(DiscretionError, match=r"行政许可 \(licence\), not a penalty item"):
        discretion_range(item, "V01", "minor")


def test_error_is_a_value_error() -> None:
    assert issubclass(DiscretionError, ValueError)


def test_sample_traffic_penalty(sample: Catalogue) -> None:
    item = sample.item("320703-GAFJ-CF-001")
    assert discretion_range(item, "V01", "serious") == (Decimal("150"), Decimal("200"))
    assert within_discretion(item, "V02", "minor", Decimal("5"))
    assert not within_discretion(item, "V02", "minor", Decimal("4.99"))
