"""A lower tier's rules may only tighten the baseline: same rules, thresholds only stricter."""

from __future__ import annotations

from typing import Any

import pytest

from sunlight.supervision.tighten import Violation, check_tighten
from tests.supervision.builders import ITEM, OTHER_ITEM, rule, ruleset

BASE_RULES: list[dict[str, Any]] = [
    rule("WARN", "yellow", "time_used", remaining_days=2, remaining_percent=20),
    rule("LATE", "red", "time_used", overdue=True, rule_auto_order=True),
    rule("OFF", "red", "off_flow"),
    rule("MISSING", "yellow", "materials_missing_at_acceptance",
         rule_scope={"items": [ITEM], "categories": ["licence"]}),
    rule("SAME", "red", "same_person_accepts_and_decides", policy="refuse"),
    rule("FAST", "yellow", "too_fast", minutes=10),
    rule("AGAIN", "yellow", "repeated_correction", max_requests=2),
    rule("LONG", "yellow", "long_suspension", days=10),
]
BASELINE = ruleset(*BASE_RULES, site="320000")


def _local(**changes: dict[str, Any]) -> list[Violation]:
    """The county's copy of the baseline with some rules replaced (None removes)."""
    rules = [changes.get(r["id"], r) for r in BASE_RULES]
    local = ruleset(*[r for r in rules if r is not None], site="320703", version=4)
    return check_tighten(BASELINE, local)


def _fields(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.rule_id, v.field) for v in violations]


def test_the_baseline_itself_tightens_it() -> None:
    assert _local() == []


def test_stricter_everywhere_and_rules_of_its_own_are_allowed() -> None:
    stricter = {
        "WARN": rule("WARN", "red", "time_used", remaining_days=3, remaining_percent=30,
                     rule_auto_order=True, rule_text="本地文字"),
        "LATE": rule("LATE", "red", "time_used", remaining_days=0, rule_auto_order=True),
        "MISSING": rule("MISSING", "red", "materials_missing_at_acceptance"),  # every case
        "SAME": rule("SAME", "red", "same_person_accepts_and_decides", policy="refuse"),
        "FAST": rule("FAST", "yellow", "too_fast", minutes=30),
        "AGAIN": rule("AGAIN", "yellow", "repeated_correction", max_requests=1),
        "LONG": rule("LONG", "yellow", "long_suspension", days=5),
    }
    rules = [stricter.get(r["id"], r) for r in BASE_RULES]
    rules.append(rule("MINE", "yellow", "long_suspension", days=3))
    assert check_tighten(BASELINE, ruleset(*rules, site="320703")) == []
    broader = rule("MISSING", "yellow", "materials_missing_at_acceptance",
                   rule_scope={"items": [ITEM, OTHER_ITEM], "categories": ["licence", "fee"]})
    assert _local(MISSING=broader) == []


def test_a_removed_rule() -> None:
    violations = _local(OFF=None, LONG=None)  # type: ignore[arg-type]
    assert _fields(violations) == [("OFF", "id"), ("LONG", "id")]
    assert violations[0].reason == "removed: a baseline rule must stay"


@pytest.mark.parametrize(("changed", "field", "words"), [
    (rule("OFF", "yellow", "off_flow"), "light", "red to yellow"),
    (rule("LATE", "red", "time_used", overdue=True), "auto_order", "switched off"),
    (rule("OFF", "red", "materials_missing_at_acceptance"), "condition.kind",
     "changed from off_flow to materials_missing_at_acceptance"),
    (rule("OFF", "red", "off_flow", rule_scope={"categories": ["licence"]}), "scope",
     "watches every case"),
    (rule("MISSING", "yellow", "materials_missing_at_acceptance",
          rule_scope={"categories": ["licence"]}), "scope.items", ITEM),
    (rule("MISSING", "yellow", "materials_missing_at_acceptance",
          rule_scope={"items": [ITEM], "categories": ["penalty"]}), "scope.categories",
     "licence"),
    (rule("WARN", "yellow", "time_used", remaining_days=1, remaining_percent=20),
     "condition.remaining_days", "1 is below the baseline's 2"),
    (rule("WARN", "yellow", "time_used", remaining_days=5),
     "condition.remaining_percent", "left out"),
    (rule("WARN", "yellow", "time_used", overdue=True), "condition.overdue",
     "fires only once overdue"),
    (rule("SAME", "red", "same_person_accepts_and_decides", policy="light"),
     "condition.policy", "refuse to light"),
    (rule("FAST", "yellow", "too_fast", minutes=5), "condition.minutes",
     "5 is below the baseline's 10"),
    (rule("FAST", "yellow", "too_fast", to_step="close", minutes=10), "condition.to_step",
     "accept → close"),
    (rule("FAST", "yellow", "too_fast", from_step="review", minutes=10),
     "condition.from_step", "review → decide"),
    (rule("AGAIN", "yellow", "repeated_correction", max_requests=3),
     "condition.max_requests", "3 is above the baseline's 2"),
    (rule("LONG", "yellow", "long_suspension", days=15), "condition.days",
     "15 is above the baseline's 10"),
])
def test_each_relaxation_is_named(changed: dict[str, Any], field: str, words: str) -> None:
    violations = _local(**{changed["id"]: changed})
    assert _fields(violations) == [(changed["id"], field)]
    assert words in violations[0].reason


def test_several_relaxations_in_baseline_order() -> None:
    violations = _local(
        LONG=rule("LONG", "yellow", "long_suspension", days=30),
        WARN=rule("WARN", "yellow", "time_used", remaining_days=1, remaining_percent=10),
        OFF=rule("OFF", "yellow", "off_flow", rule_scope={"items": [ITEM]}),
    )
    assert _fields(violations) == [
        ("WARN", "condition.remaining_days"), ("WARN", "condition.remaining_percent"),
        ("OFF", "light"), ("OFF", "scope"), ("LONG", "condition.days")]
