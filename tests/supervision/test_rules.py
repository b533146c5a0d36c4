"""Rule files: the shipped defaults, export → import, and every way a file is refused —
as a whole, naming the rule id, the field, the YAML path and the line."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sunlight.catalogue.model import Category
from sunlight.supervision.conditions import CONDITION_KINDS, TimeUsed, TooFast
from sunlight.supervision.rules import (
    DEFAULT_RESOURCE,
    RuleFileError,
    RuleSet,
    default_rules,
    default_rules_text,
    dump_rules,
    load_rules,
)
from tests.supervision.builders import ITEM, OTHER_ITEM, rule, ruleset

ROOT = Path(__file__).resolve().parents[2]

#: A valid file; each refusal case below changes one line of it.
GOOD = """\
site: '320703'
version: 2
rules:
- id: TIME-WARN
  light: yellow
  condition: {kind: time_used, remaining_days: 2}
  text: 即将到期
- id: FAST
  light: yellow
  condition:
    kind: too_fast
    minutes: 10
  text: 办理过快
  scope:
    items: [320703-SCJGJ-XK-001]
    categories: [licence]
- id: SAME
  light: red
  condition: {kind: same_person_accepts_and_decides}
  text: 岗位分离
  auto_order: true
"""
KNOWN_ITEMS = {ITEM, OTHER_ITEM}
KNOWN_CATEGORIES = {"licence", "penalty"}


def _refused(text: str, **known: Any) -> RuleFileError:
    with pytest.raises(RuleFileError) as caught:
        load_rules(text, "county.yaml", **known)
    return caught.value


def test_good_file_loads() -> None:
    rules = load_rules(GOOD, "county.yaml", known_items=KNOWN_ITEMS,
                       known_categories=KNOWN_CATEGORIES)
    assert rules.site == "320703" and rules.version == 2
    assert [r.id for r in rules.rules] == ["TIME-WARN", "FAST", "SAME"]
    assert rules.rule("FAST").condition == TooFast(minutes=10)
    assert rules.rule("SAME").auto_order
    with pytest.raises(KeyError):
        rules.rule("NOPE")


# (replace this, with that) in GOOD → rule id, field, YAML path, line, words of the message.
REFUSALS: dict[str, tuple[str, str, str | None, str, str, int, str]] = {
    "unknown condition kind": (
        "    kind: too_fast\n", "    kind: too_quick\n",
        "FAST", "kind", "rules[1].condition.kind", 11, "unknown condition kind 'too_quick'"),
    "missing condition kind": (
        "    kind: too_fast\n", "",
        "FAST", "kind", "rules[1].condition.kind", 10, "the condition has no kind"),
    "threshold below its range": (
        "    minutes: 10\n", "    minutes: 0\n",
        "FAST", "minutes", "rules[1].condition.minutes", 12, "greater than or equal to 1"),
    "threshold above its range": (
        "remaining_days: 2}", "remaining_days: 400}",
        "TIME-WARN", "remaining_days", "rules[0].condition.remaining_days", 6,
        "less than or equal to 365"),
    "threshold not a number": (
        "    minutes: 10\n", "    minutes: ten\n",
        "FAST", "minutes", "rules[1].condition.minutes", 12, "valid integer"),
    "unknown field in a condition": (
        "    minutes: 10\n", "    minutes: 10\n    minute: 5\n",
        "FAST", "minute", "rules[1].condition.minute", 13, "Extra inputs are not permitted"),
    "unknown item code": (
        "items: [320703-SCJGJ-XK-001]", "items: [320703-SCJGJ-XK-001, 320703-SCJGJ-XK-999]",
        "FAST", "items", "rules[1].scope.items[1]", 15, "unknown item code '320703-SCJGJ-XK-999'"),
    "malformed item code": (
        "items: [320703-SCJGJ-XK-001]", "items: [xk 1]",
        "FAST", "items", "rules[1].scope.items[0]", 15, "should match pattern"),
    "category unknown at this site": (
        "categories: [licence]", "categories: [licence, 行政收费]",
        "FAST", "categories", "rules[1].scope.categories[1]", 16, "unknown category 'fee'"),
    "no such category": (
        "categories: [licence]", "categories: [licensing]",
        "FAST", "categories", "rules[1].scope.categories[0]", 16, "Input should be 'licence'"),
    "duplicate id": (
        "- id: SAME\n", "- id: FAST\n",
        "FAST", "id", "rules[2].id", 17, "rule id 'FAST' appears twice (also rules[1])"),
    "malformed id": (
        "- id: SAME\n", "- id: 同一人\n",
        "同一人", "id", "rules[2].id", 17, "should match pattern"),
    "unknown light": (
        "  light: red\n", "  light: green\n",
        "SAME", "light", "rules[2].light", 18, "Input should be 'yellow' or 'red'"),
    "auto order on a yellow rule": (
        "  light: red\n", "  light: yellow\n",
        "SAME", "auto_order", "rules[2].auto_order", 21, "this rule is yellow"),
    "empty text": (
        "  text: 岗位分离\n", "  text: ' '\n",
        "SAME", "text", "rules[2].text", 20, "should match pattern"),
    "unknown policy": (
        "{kind: same_person_accepts_and_decides}",
        "{kind: same_person_accepts_and_decides, policy: warn}",
        "SAME", "policy", "rules[2].condition.policy", 19, "'refuse' or 'light'"),
    "time used with no threshold": (
        "{kind: time_used, remaining_days: 2}", "{kind: time_used}",
        "TIME-WARN", "overdue", "rules[0].condition.overdue", 6, "needs remaining_days"),
    "time used with both modes": (
        "{kind: time_used, remaining_days: 2}",
        "{kind: time_used, remaining_days: 2, overdue: true}",
        "TIME-WARN", "remaining_days", "rules[0].condition.remaining_days", 6, "not both"),
    "too fast backwards": (
        "    minutes: 10\n", "    minutes: 10\n    from_step: decide\n    to_step: review\n",
        "FAST", "to_step", "rules[1].condition.to_step", 14, "must come after from_step"),
    "empty scope": (
        "    items: [320703-SCJGJ-XK-001]\n    categories: [licence]\n", "    {}\n",
        "FAST", "scope", "rules[1].scope", 14, "lists items, categories or both"),
    "site not quoted": (
        "site: '320703'", "site: 320703",
        None, "site", "site", 1, "quote it in YAML"),
    "site not a division": (
        "site: '320703'", "site: '990000'",
        None, "site", "site", 1, "not a GB/T 2260 province-level prefix"),
    "version zero": (
        "version: 2", "version: 0",
        None, "version", "version", 2, "greater than or equal to 1"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_naming_rule_field_path_and_line(case: str) -> None:
    old, new, rule_id, field, path, line, words = REFUSALS[case]
    assert old in GOOD
    err = _refused(GOOD.replace(old, new, 1), known_items=KNOWN_ITEMS,
                   known_categories=KNOWN_CATEGORIES)
    assert (err.rule_id, err.field, err.path, err.line) == (rule_id, field, path, line)
    assert words in err.message
    text = str(err)
    assert text.startswith(f"county.yaml: {path} (line {line})")
    assert f"field {field}" in text
    if rule_id is not None:
        assert f"rule {rule_id}," in text


def test_every_problem_is_reported_and_the_file_is_refused_as_a_whole() -> None:
    text = (GOOD.replace("    minutes: 10\n", "    minutes: 0\n")
            .replace("  light: red\n", "  light: amber\n"))
    err = _refused(text)
    assert [(p.rule_id, p.field, p.line) for p in err.all_problems] == [
        ("FAST", "minutes", 12), ("SAME", "light", 18)]
    assert "(and 1 more problem(s))" in str(err)


def test_scope_is_checked_against_the_catalogue_only_when_given() -> None:
    text = GOOD.replace("[320703-SCJGJ-XK-001]", "[320703-SCJGJ-XK-999]")
    assert load_rules(text, "county.yaml").rule("FAST").scope is not None
    assert _refused(text, known_items=KNOWN_ITEMS).field == "items"
    assert _refused(GOOD, known_categories={"penalty"}).field == "categories"


@pytest.mark.parametrize(("text", "line", "words"), [
    ("site: '320703'\nrules: [\n", 3, "not valid YAML"),
    ("", None, "valid dictionary"),
    ("- a\n", 1, "valid dictionary"),
    ("site: '320703'\nversion: 1\nrules: {}\n", 3, "valid tuple"),
])
def test_refused_documents(text: str, line: int | None, words: str) -> None:
    err = _refused(text)
    assert err.line == line and words in str(err) and err.rule_id is None


# --- export → import --------------------------------------------------------------------


def _every_kind() -> RuleSet:
    return ruleset(
        rule("WARN", "yellow", "time_used", remaining_days=3, remaining_percent=25,
             rule_scope={"categories": ["行政许可", "penalty"]}),
        rule("LATE", "red", "time_used", overdue=True, rule_auto_order=True),
        rule("OFF", "red", "off_flow", rule_text="不按流程办理：含「引号」与 #号"),
        rule("MISSING", "yellow", "materials_missing_at_acceptance",
             rule_scope={"items": [ITEM, OTHER_ITEM]}),
        rule("SAME", "red", "same_person_accepts_and_decides", policy="light"),
        rule("FAST", "yellow", "too_fast", from_step="review", to_step="close", minutes=30),
        rule("AGAIN", "yellow", "repeated_correction", max_requests=2),
        rule("LONG", "yellow", "long_suspension", days=20),
        rule("OVERRIDE", "red", "discretion_override", rule_scope={"categories": ["penalty"]}),
        site="320700", version=7)


def test_export_import_round_trip() -> None:
    original = _every_kind()
    assert {r.condition.kind for r in original.rules} == set(CONDITION_KINDS)
    text = dump_rules(original)
    again = load_rules(text, "export.yaml")
    assert again == original
    assert dump_rules(again) == text
    scope = again.rule("WARN").scope
    assert scope is not None and scope.categories == (Category.LICENCE, Category.PENALTY)
    assert "不按流程办理" in text and "\\u" not in text   # Chinese stays readable
    doc = yaml.safe_load(text)
    assert doc["site"] == "320700"                        # quoted: stays a string
    assert list(doc["rules"][0]) == ["id", "light", "condition", "text", "scope"]
    assert next(iter(doc["rules"][0]["condition"])) == "kind"


def test_export_writes_thresholds_at_their_default_and_leaves_out_unset_ones() -> None:
    text = dump_rules(ruleset(rule("SAME", "red", "same_person_accepts_and_decides"),
                              rule("WARN", "yellow", "time_used", remaining_days=1)))
    assert "condition: {kind: same_person_accepts_and_decides, policy: refuse}" in text
    assert "condition: {kind: time_used, remaining_days: 1}" in text
    assert "auto_order" not in text and "scope" not in text


def test_export_is_the_same_for_the_same_rules() -> None:
    assert dump_rules(_every_kind()) == dump_rules(_every_kind())
    assert load_rules(dump_rules(_every_kind()), "x").rule("LATE").condition == TimeUsed(
        overdue=True)


# --- the shipped defaults ----------------------------------------------------------------


def test_default_rules_cover_every_kind_and_are_in_exported_form() -> None:
    rules = default_rules()
    assert {r.condition.kind for r in rules.rules} == set(CONDITION_KINDS)
    assert dump_rules(rules) == default_rules_text()
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r.text) for r in rules.rules)
    assert default_rules("320703").site == "320703"
    assert default_rules("320703").rules == rules.rules


def test_default_rules_ship_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["sunlight"]
    resource = f"supervision/{DEFAULT_RESOURCE}"
    assert any(fnmatch.fnmatch(resource, pattern) for pattern in patterns)
    assert (ROOT / "platform" / "sunlight" / resource).is_file()
