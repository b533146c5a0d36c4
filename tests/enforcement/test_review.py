"""行政复议/行政诉讼 against a decision: filed first, the outcome later; every refusal."""

from __future__ import annotations

import doctest
import importlib
from datetime import date, datetime
from typing import Any

import pytest

from sunlight.enforcement.errors import (
    EnforcementError,
    IllegalStep,
    InvalidRecord,
    WrongStepRole,
)
from sunlight.enforcement.flow import LEGAL_REVIEWER, OFFICER, Actor
from sunlight.enforcement.review import (
    KINDS,
    OUTCOMES,
    Challenge,
    decide_challenge,
    file_challenge,
)

from .builders import DECIDED, HEAD, decision

XU = Actor("xu.fa", LEGAL_REVIEWER)
TODAY = date(2026, 6, 1)
FILED = date(2026, 4, 1)


def filed(kind: str = "reconsideration") -> Challenge:
    return file_challenge(decision(), (), kind, FILED, "连云港市人民政府", XU, today=TODAY)


@pytest.mark.parametrize("suffix", [".review", ".oversight"])
def test_docstring_examples(suffix: str) -> None:
    module = importlib.import_module("sunlight.enforcement" + suffix)
    assert module.__doc__ and "Example::" in module.__doc__
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_filed_then_decided_once() -> None:
    first = filed()
    assert (first.kind, first.filed_on, first.body, first.filed_by, first.pending) == (
        "reconsideration", FILED, "连云港市人民政府", "xu.fa", True)
    done = decide_challenge(first, "confirmed_illegal", date(2026, 5, 20), XU, today=TODAY)
    assert (done.outcome, done.decided_on, done.decided_by, done.pending) == (
        "confirmed_illegal", date(2026, 5, 20), "xu.fa", False)
    assert first.pending  # values: nothing changed in place
    with pytest.raises(IllegalStep) as again:
        decide_challenge(done, "upheld", date(2026, 5, 21), XU, today=TODAY)
    assert (again.value.http_status, again.value.field) == (409, "outcome")
    assert "recorded once" in again.value.reason


def test_filed_on_the_day_of_the_decision_and_decided_the_day_it_was_filed() -> None:
    same = file_challenge(decision(), (), "litigation", DECIDED, "连云区人民法院", XU,
                          today=DECIDED)
    assert decide_challenge(same, "upheld", DECIDED, XU, today=DECIDED).outcome == "upheld"


def test_a_pending_one_of_the_same_kind_blocks_a_second_but_not_the_other_kind() -> None:
    first = filed("reconsideration")
    with pytest.raises(IllegalStep) as second:
        file_challenge(decision(), (first,), "reconsideration", FILED, "市政府", XU,
                       today=TODAY)
    assert (second.value.http_status, second.value.field) == (409, "kind")
    suit = file_challenge(decision(), (first,), "litigation", FILED, "连云区人民法院", XU,
                          today=TODAY)
    assert suit.kind == "litigation"
    done = decide_challenge(first, "upheld", date(2026, 5, 1), XU, today=TODAY)
    again = file_challenge(decision(), (done,), "reconsideration", FILED, "市政府", XU,
                           today=TODAY)
    assert again.pending


def test_no_decision_is_409() -> None:
    with pytest.raises(IllegalStep) as refused:
        file_challenge(None, (), "reconsideration", FILED, "市政府", XU, today=TODAY)
    assert refused.value.http_status == 409
    assert "has none" in refused.value.reason


@pytest.mark.parametrize("who", [Actor("li.ju", "approver"), Actor("wang", OFFICER, "1"),
                                 HEAD, Actor("admin", "admin")])
def test_only_the_legal_affairs_role_records(who: Actor) -> None:
    with pytest.raises(WrongStepRole) as refused:
        file_challenge(decision(), (), "reconsideration", FILED, "市政府", who, today=TODAY)
    assert refused.value.http_status == 403
    with pytest.raises(WrongStepRole):
        decide_challenge(filed(), "upheld", TODAY, who, today=TODAY)


FILING_REFUSALS: list[tuple[dict[str, Any], type[EnforcementError], str]] = [
    ({"kind": "appeal"}, InvalidRecord, "kind"),
    ({"kind": "行政复议"}, InvalidRecord, "kind"),
    ({"filed_on": date(2026, 3, 12)}, IllegalStep, "filed_on"),   # the day before the decision
    ({"filed_on": date(2026, 6, 2)}, InvalidRecord, "filed_on"),  # tomorrow
    ({"filed_on": "2026-04-01"}, InvalidRecord, "filed_on"),
    ({"filed_on": datetime(2026, 4, 1, 9)}, InvalidRecord, "filed_on"),
    ({"body": "   "}, InvalidRecord, "body"),
    ({"body": "院" * 201}, InvalidRecord, "body"),
]


@pytest.mark.parametrize(("change", "error", "field"), FILING_REFUSALS)
def test_every_filing_refusal_names_the_field(change: dict[str, Any],
                                              error: type[EnforcementError],
                                              field: str) -> None:
    args: dict[str, Any] = {"kind": "reconsideration", "filed_on": FILED, "body": "市政府",
                            **change}
    with pytest.raises(error) as refused:
        file_challenge(decision(), (), args["kind"], args["filed_on"], args["body"], XU,
                       today=TODAY)
    assert refused.value.field == field
    assert refused.value.http_status == (422 if error is InvalidRecord else 409)
    assert str(refused.value).startswith(f"{field}: ")


OUTCOME_REFUSALS: list[tuple[dict[str, Any], type[EnforcementError], str]] = [
    ({"outcome": "quashed"}, InvalidRecord, "outcome"),
    ({"outcome": "维持"}, InvalidRecord, "outcome"),
    ({"decided_on": date(2026, 3, 31)}, IllegalStep, "decided_on"),  # before the filing
    ({"decided_on": date(2026, 6, 2)}, InvalidRecord, "decided_on"),
    ({"decided_on": None}, InvalidRecord, "decided_on"),
]


@pytest.mark.parametrize(("change", "error", "field"), OUTCOME_REFUSALS)
def test_every_outcome_refusal_names_the_field(change: dict[str, Any],
                                               error: type[EnforcementError],
                                               field: str) -> None:
    args: dict[str, Any] = {"outcome": "revoked", "decided_on": date(2026, 5, 2), **change}
    with pytest.raises(error) as refused:
        decide_challenge(filed(), args["outcome"], args["decided_on"], XU, today=TODAY)
    assert refused.value.field == field


def test_labels() -> None:
    assert KINDS == {"reconsideration": "行政复议", "litigation": "行政诉讼"}
    assert OUTCOMES == {"upheld": "维持", "revoked": "撤销", "changed": "变更",
                        "confirmed_illegal": "确认违法"}
