"""Core's lights without a database: facts from rows, changes, the gauge, the role rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from sunlight.catalogue.journey import ANNUAL_REPORT, ANNUAL_REPORT_MATERIAL
from sunlight.catalogue.sample import sample_catalogue
from sunlight.runtime.clock import ManualClock
from sunlight.runtime.core import cases
from sunlight.runtime.core.accounts import AccountError, check_roles
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.lights import case_facts, changed, hits_doc, item_facts
from sunlight.runtime.core.models import Case, CaseLight
from sunlight.runtime.core.periodic import TickMetrics
from sunlight.runtime.errors import ApiError
from sunlight.supervision.evaluate import Light, evaluate, separation_refusal
from sunlight.supervision.facts import CHINA
from sunlight.supervision.rules import default_rules
from sunlight.workflow.machine import Action

# 2026-12-01 is a Tuesday; the annual report is promised in 2 working days.
SUBMITTED = datetime(2026, 12, 1, 9, 0, tzinfo=CHINA)
RULES = default_rules("320703")


def _item() -> Any:
    item = next(i for i in sample_catalogue().items if i.code == ANNUAL_REPORT)
    return item_facts(item.category.value, item.model_dump(mode="json"))


def _case(**fields: Any) -> Case:
    values: dict[str, Any] = {
        "id": uuid.uuid4(), "receipt": "320703-20261201-000001", "item_code": ANNUAL_REPORT,
        "item_version": 1, "department": "320703-SCJGJ", "status": "submitted",
        "submitted_on": date(2026, 12, 1), "limit_days": 2,
        "created_at": SUBMITTED.astimezone(UTC)}
    return Case(**{**values, **fields})


def _event(action: str, at: datetime, to_status: str, actor: str = "zhang",
           role: str = "clerk") -> SimpleNamespace:
    return SimpleNamespace(at=at, actor=actor, role=role, action=action, to_status=to_status)


def _history(*steps: tuple[str, int, str, str, str]) -> list[SimpleNamespace]:
    """(action, minutes after submission, to_status, actor, role) rows, after the submit."""
    rows = [_event("submit", SUBMITTED, "submitted", "applicant", "applicant")]
    rows += [_event(a, SUBMITTED + timedelta(minutes=m), s, who, role)
             for a, m, s, who, role in steps]
    return rows


def test_item_facts_from_the_catalogue_document() -> None:
    item = _item()
    assert item.category == "other"
    assert [s.kind for s in item.flow] == ["accept", "review", "decide", "close"]
    assert item.required_materials == (ANNUAL_REPORT_MATERIAL,)  # the optional one is not


def test_case_facts_keep_the_moves_and_leave_out_submission_and_system_marks() -> None:
    rows = _history(("accept", 30, "in_review", "zhang", "clerk"),
                    ("overdue", 60, "in_review", "system", "system"),
                    ("light", 61, "in_review", "system", "supervision"))
    facts = case_facts(_case(status="in_review"), _item(), rows, {ANNUAL_REPORT_MATERIAL})
    assert [m.action for m in facts.history] == [Action.accept]
    assert facts.submitted_at == SUBMITTED and facts.submitted_on == date(2026, 12, 1)
    assert facts.promised_limit_days == 2 and facts.missing_at_acceptance == ()


def test_missing_materials_count_only_once_accepted() -> None:
    waiting = case_facts(_case(), _item(), _history(), set())
    assert waiting.missing_at_acceptance == ()
    accepted = case_facts(_case(status="in_review"), _item(),
                          _history(("accept", 5, "in_review", "zhang", "clerk")), set())
    assert accepted.missing_at_acceptance == (ANNUAL_REPORT_MATERIAL,)
    verdict = evaluate(accepted, RULES, now=SUBMITTED + timedelta(minutes=6))
    assert "MATERIALS-MISSING" in verdict.rule_ids


def test_pauses_come_from_the_recorded_corrections() -> None:
    rows = _history(("request_correction", 10, "correction_requested", "zhang", "clerk"),
                    ("resubmit", 3 * 24 * 60, "submitted", "applicant", "applicant"))
    facts = case_facts(_case(), _item(), rows, set())
    assert facts.corrections == ((date(2026, 12, 1), date(2026, 12, 4)),)


def test_the_submission_day_wins_over_an_arrival_on_another_day() -> None:
    # Submitted (at the portal) on the 1st, arrived in core at 09:00 on the 2nd.
    late = _case(created_at=datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    assert case_facts(late, _item(), [], set()).submitted_on == date(2026, 12, 1)
    other = _case(submitted_on=date(2026, 11, 30))
    facts = case_facts(other, _item(), [], set())
    assert facts.submitted_on == date(2026, 11, 30) and facts.submitted_at.tzinfo is not None


def test_a_case_from_rows_turns_yellow_then_red_with_the_clock() -> None:
    clock = ManualClock(SUBMITTED)
    facts = case_facts(_case(), _item(), _history(), set())
    assert evaluate(facts, RULES, now=clock.now()).light is Light.yellow  # 2 days ≤ 2
    clock.advance(timedelta(days=3))  # Friday 4 December: past Thursday's due date
    red = evaluate(facts, RULES, now=clock.now())
    assert red.light is Light.red and red.rule_ids == ("TIME-WARN", "TIME-OVERDUE")
    assert [h["rule_id"] for h in hits_doc(red.hits)] == ["TIME-WARN", "TIME-OVERDUE"]
    assert hits_doc(red.hits)[1]["light"] == "red"
    assert [h.rule_id for h in red.auto_orders] == ["TIME-OVERDUE"]


def test_separation_refusal_from_rows() -> None:
    rows = _history(("accept", 5, "in_review", "li", "clerk"),
                    ("approve_step", 30, "awaiting_decision", "wang", "reviewer"))
    facts = case_facts(_case(status="awaiting_decision"), _item(), rows, set())
    hit = separation_refusal(RULES, facts, "li", Action.grant)
    assert hit is not None and hit.rule_id == "SAME-PERSON"
    assert separation_refusal(RULES, facts, "zhao", Action.grant) is None


def _stored(light: str, rule_ids: list[str]) -> CaseLight:
    return CaseLight(case_id=uuid.uuid4(), light=light, rule_ids=rule_ids)


def test_a_change_is_a_new_light_or_a_new_set_of_rules() -> None:
    facts = case_facts(_case(), _item(), _history(), set())
    yellow = evaluate(facts, RULES, now=SUBMITTED)
    green = evaluate(facts, RULES.model_copy(update={"rules": ()}), now=SUBMITTED)
    assert not changed(None, green)  # never evaluated counts as green
    assert changed(None, yellow)
    assert not changed(_stored("yellow", ["TIME-WARN"]), yellow)
    assert changed(_stored("yellow", ["TOO-FAST"]), yellow)
    assert changed(_stored("red", ["TIME-WARN"]), yellow)


def test_the_open_cases_gauge_keeps_a_department_that_emptied_at_zero() -> None:
    registry = CollectorRegistry()
    metrics = TickMetrics.create(registry, ManualClock(SUBMITTED))
    metrics.set_open([("red", "320703-SCJGJ", ANNUAL_REPORT, 2),
                      ("red", "320703-SCJGJ", "320703-SCJGJ-XK-001", 1),
                      ("none", "320703-WJW", "320703-WJW-XK-001", 4)])

    def value(light: str, dept: str) -> float | None:
        return registry.get_sample_value("sunlight_open_cases",
                                         {"light": light, "department": dept})

    assert value("red", "320703-SCJGJ") == 3 and value("yellow", "320703-SCJGJ") == 0
    metrics.set_open([("yellow", "320703-WJW", "320703-WJW-XK-001", 1)])
    assert value("red", "320703-SCJGJ") == 0 and value("yellow", "320703-WJW") == 1
    assert registry.get_sample_value("sunlight_clock_offset_seconds") == 0


def test_the_certificate_gauge_counts_expiring_officers_by_department() -> None:
    from datetime import date

    from sunlight.enforcement.officers import expiring, load_registry, sample_registry_text

    registry = CollectorRegistry()
    metrics = TickMetrics.create(registry, ManualClock(SUBMITTED))
    officers = load_registry(sample_registry_text())

    def value(dept: str) -> float | None:
        return registry.get_sample_value("sunlight_officer_certificates_expiring",
                                         {"department": dept})

    metrics.set_expiring(expiring(officers, date(2026, 12, 10), 30))  # 王强 ends 2026-12-31
    assert value("320703-SCJGJ") == 1 and value("320703-STHJJ") is None
    metrics.set_expiring(expiring(officers, date(2025, 12, 10), 30))  # 吴斌 ends 2025-12-31
    assert value("320703-SCJGJ") == 0 and value("320703-STHJJ") == 1


def test_the_clock_offset_gauge_reads_the_offset_file(tmp_path: Any) -> None:
    from sunlight.runtime.clock import Clock

    offset = tmp_path / "clock-offset"
    registry = CollectorRegistry()
    TickMetrics.create(registry, Clock(offset))
    assert registry.get_sample_value("sunlight_clock_offset_seconds") == 0
    offset.write_text("86400\n")
    assert registry.get_sample_value("sunlight_clock_offset_seconds") == 86400
    offset.write_text("tomorrow\n")
    value = registry.get_sample_value("sunlight_clock_offset_seconds")
    assert value is not None and value != value  # NaN: unreadable, never a silent zero


@pytest.mark.parametrize("roles", [["supervisor", "clerk"], ["supervisor", "reviewer"],
                                   ["approver", "supervisor", "admin"]])
def test_a_supervisor_cannot_hold_a_handling_role(roles: list[str]) -> None:
    with pytest.raises(AccountError, match=r"supervisor cannot be held with .*岗位分离"):
        check_roles(roles)


@pytest.mark.parametrize("roles", [["supervisor"], ["supervisor", "admin"],
                                   ["clerk", "reviewer", "approver"], ["admin"]])
def test_allowed_role_sets(roles: list[str]) -> None:
    check_roles(roles)


def test_unknown_or_no_roles_are_refused() -> None:
    for roles in ([], ["auditor"]):
        with pytest.raises(AccountError, match="--role"):
            check_roles(roles)


def test_a_supervisor_cannot_act_on_a_case() -> None:
    staff = Staff("qian", ("supervisor",), None)
    with pytest.raises(ApiError) as caught:
        cases.act(None, "320703", staff, uuid.uuid4(), Action.accept, "")  # type: ignore[arg-type]
    assert caught.value.status == 403 and caught.value.code == "supervisor_cannot_act"
    assert "监察室" in caught.value.detail and "cannot act" in caught.value.detail


def test_today_follows_the_given_clock() -> None:
    clock = ManualClock(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))  # 01:00 on the 2nd in China
    assert cases.today(clock.now()) == date(2026, 12, 2)
