"""Each condition kind fires when it should and stays quiet when it should not; the verdict
is deterministic and red beats yellow."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from sunlight.supervision.evaluate import Light, deadline, evaluate, separation_refusal
from sunlight.supervision.facts import CaseFacts, Move, pauses_from_history
from sunlight.workflow.machine import Action, CaseStatus
from tests.supervision.builders import (
    FLOW_2,
    ITEM,
    OTHER_ITEM,
    at,
    facts,
    handled,
    move,
    rule,
    ruleset,
)

#: Submitted Fri 2024-09-27, 5 working days: due Thu 2024-10-10 (National Day in between).
DUE = "2024-10-10"


def _fired(case: CaseFacts, *rules: dict[str, Any], now: datetime) -> tuple[str, ...]:
    return evaluate(case, ruleset(*rules), now=now).rule_ids


# --- time_used ---------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "fires"), [("2024-10-07", False), ("2024-10-08", True),
                                            ("2024-10-10", True), ("2024-10-11", True)])
def test_time_used_remaining_days(day: str, fires: bool) -> None:
    warn = rule("WARN", "yellow", "time_used", remaining_days=2)
    assert _fired(facts(), warn, now=at(day, 17)) == (("WARN",) if fires else ())


def test_time_used_remaining_percent_of_the_promised_limit() -> None:
    # 20 working days promised; 20 % = 4 days left. Due 2024-11-05 (from Fri 2024-10-04? no:
    # submitted Mon 2024-10-14, 20 working days → Mon 2024-11-11).
    case = facts(submitted="2024-10-14", promised_limit_days=20)
    assert deadline(case, at("2024-10-14")).due.isoformat() == "2024-11-11"
    share = rule("SHARE", "yellow", "time_used", remaining_percent=20)
    assert _fired(case, share, now=at("2024-11-04")) == ()        # 5 left
    assert _fired(case, share, now=at("2024-11-05")) == ("SHARE",)  # 4 left
    either = rule("EITHER", "yellow", "time_used", remaining_days=1, remaining_percent=20)
    assert _fired(case, either, now=at("2024-11-05")) == ("EITHER",)


def test_time_used_overdue_is_red_only_after_the_due_date() -> None:
    late = rule("LATE", "red", "time_used", overdue=True)
    assert _fired(facts(), late, now=at(DUE, 23, 59)) == ()
    verdict = evaluate(facts(), ruleset(late), now=at("2024-10-11"))
    assert verdict.light is Light.red and verdict.rule_ids == ("LATE",)
    assert verdict.hits[0].detail == "承诺办结日 2024-10-10，已超期 1 个工作日"


def test_time_used_stops_the_clock_during_correction_and_suspension() -> None:
    late = rule("LATE", "red", "time_used", overdue=True)
    # 补正 from Mon 30 Sep to Wed 9 Oct: 8th and 9th are added; due Sat 12 Oct (调休).
    corrected = facts(move("request_correction", at("2024-09-30")),
                      move("resubmit", at("2024-10-09")))
    assert deadline(corrected, at("2024-10-11")).due.isoformat() == "2024-10-12"
    assert _fired(corrected, late, now=at("2024-10-12")) == ()
    assert _fired(corrected, late, now=at("2024-10-14")) == ("LATE",)
    # Still waiting for the applicant: the due date moves with every working day.
    waiting = facts(move("request_correction", at("2024-09-30")),
                    status="correction_requested")
    assert _fired(waiting, late, now=at("2024-12-31")) == ()
    assert deadline(waiting, at("2024-12-31")).remaining == 3


def test_time_used_is_measured_at_the_decision_once_decided() -> None:
    late = rule("LATE", "red", "time_used", overdue=True)
    on_time = facts(*handled("2024-10-08"), status="closed")
    assert _fired(on_time, late, now=at("2025-06-01")) == ()
    too_late = facts(*handled("2024-10-14"), status="closed")
    assert _fired(too_late, late, now=at("2025-06-01")) == ("LATE",)


def test_a_yellow_window_also_covers_an_overdue_case() -> None:
    warn = rule("WARN", "yellow", "time_used", remaining_days=0)
    hit = evaluate(facts(), ruleset(warn), now=at("2024-10-14")).hits[0]
    assert hit.detail == "承诺办结日 2024-10-10，已超期"


# --- off_flow ------------------------------------------------------------------------------


def test_off_flow_quiet_on_a_case_that_follows_its_flow() -> None:
    off = rule("OFF", "red", "off_flow")
    assert _fired(facts(*handled(), status="closed"), off, now=at("2024-09-30")) == ()
    with_pauses = facts(move("request_correction", at("2024-09-27", 10)),
                        move("resubmit", at("2024-09-30")),
                        move("accept", at("2024-09-30", 10)),
                        move("suspend", at("2024-10-08")), move("resume", at("2024-10-09")),
                        move("approve_step", at("2024-10-09", 10)),
                        status="awaiting_decision")
    assert _fired(with_pauses, off, now=at("2024-10-09")) == ()


def test_off_flow_fires_on_a_skipped_review_step() -> None:
    off = rule("OFF", "red", "off_flow")
    skipped = facts(move("accept", at("2024-09-27", 10)), move("approve_step", at("2024-09-29")),
                    move("grant", at("2024-09-30")), flow=FLOW_2, status="decided")
    verdict = evaluate(skipped, ruleset(off), now=at("2024-09-30"))
    assert verdict.rule_ids == ("OFF",)
    assert "第 3 步「准予」" in verdict.hits[0].detail
    assert "cannot grant a case that is in_review" in verdict.hits[0].detail


def test_off_flow_fires_on_the_wrong_role() -> None:
    off = rule("OFF", "red", "off_flow")
    case = facts(move("accept", at("2024-09-27", 10), role="reviewer"), status="in_review")
    assert "accept is for role clerk" in evaluate(case, ruleset(off),
                                                   now=at("2024-09-30")).hits[0].detail


def test_off_flow_fires_when_the_recorded_status_or_step_differs_from_the_flow() -> None:
    off = rule("OFF", "red", "off_flow")
    wrong_status = facts(move("accept", at("2024-09-27", 10), to_status="awaiting_decision"),
                         status="awaiting_decision")
    assert _fired(wrong_status, off, now=at("2024-09-30")) == ("OFF",)
    # In a two-review flow the first review step leads to the second, not past it.
    wrong_step = facts(move("accept", at("2024-09-27", 10), step_index=1),
                       move("approve_step", at("2024-09-28"), step_index=3),
                       flow=FLOW_2, status="in_review")
    detail = evaluate(wrong_step, ruleset(off), now=at("2024-09-30")).hits[0].detail
    assert "按流程应为第 3 环节「复审」" in detail
    right_step = facts(move("accept", at("2024-09-27", 10), step_index=1, to_status="in_review"),
                       move("approve_step", at("2024-09-28"), step_index=2),
                       flow=FLOW_2, status="in_review")
    assert _fired(right_step, off, now=at("2024-09-30")) == ()


def test_off_flow_fires_when_the_status_does_not_follow_from_the_moves() -> None:
    off = rule("OFF", "red", "off_flow")
    assert _fired(facts(status="decided"), off, now=at("2024-09-30")) == ("OFF",)


# --- materials_missing_at_acceptance -------------------------------------------------------


def test_materials_missing_at_acceptance() -> None:
    missing = rule("MISSING", "yellow", "materials_missing_at_acceptance")
    accepted = facts(move("accept", at("2024-09-27", 10)), status="in_review")
    assert _fired(accepted, missing, now=at("2024-09-30")) == ()
    short = replace(accepted, missing_at_acceptance=("营业执照", "法定代表人身份证明"))
    verdict = evaluate(short, ruleset(missing), now=at("2024-09-30"))
    assert verdict.rule_ids == ("MISSING",)
    assert verdict.hits[0].detail == "受理时缺少：营业执照、法定代表人身份证明"


# --- same_person_accepts_and_decides -------------------------------------------------------


@pytest.mark.parametrize("policy", ["refuse", "light"])
def test_same_person_accepts_and_decides(policy: str) -> None:
    same = rule("SAME", "red", "same_person_accepts_and_decides", policy=policy)
    apart = facts(*handled(), status="closed")
    assert _fired(apart, same, now=at("2024-09-30")) == ()
    # The clerk also holds the approver role and decides the case he accepted.
    together = facts(*handled(decider="zhang.wei"), status="closed")
    verdict = evaluate(together, ruleset(same), now=at("2024-09-30"))
    assert verdict.light is Light.red and verdict.rule_ids == ("SAME",)
    assert "zhang.wei" in verdict.hits[0].detail


def test_separation_refusal_follows_the_site_policy() -> None:
    refuse = ruleset(rule("SAME", "red", "same_person_accepts_and_decides", policy="refuse",
                          rule_text="同一人既受理又作出决定。"))
    light = ruleset(rule("SAME", "red", "same_person_accepts_and_decides", policy="light"))
    waiting = facts(*handled()[:2], status="awaiting_decision")
    hit = separation_refusal(refuse, waiting, "zhang.wei", Action.grant)
    assert hit is not None and hit.rule_id == "SAME" and hit.text == "同一人既受理又作出决定。"
    assert separation_refusal(refuse, waiting, "zhang.wei", "deny") is not None
    assert separation_refusal(refuse, waiting, "wang.fang", Action.grant) is None
    assert separation_refusal(refuse, waiting, "zhang.wei", Action.close) is None
    assert separation_refusal(light, waiting, "zhang.wei", Action.grant) is None
    assert separation_refusal(ruleset(), waiting, "zhang.wei", Action.grant) is None
    scoped = ruleset(rule("SAME", "red", "same_person_accepts_and_decides",
                          rule_scope={"items": [OTHER_ITEM]}))
    assert separation_refusal(scoped, waiting, "zhang.wei", Action.grant) is None


# --- too_fast ------------------------------------------------------------------------------


def _decided_after(minutes: int) -> CaseFacts:
    start = at("2024-09-30", 9)
    return facts(move("accept", start), move("approve_step", at("2024-09-30", 9, 1)),
                 move("grant", at("2024-09-30", 9, minutes)), status="decided")


def test_too_fast_accept_to_decision() -> None:
    fast = rule("FAST", "yellow", "too_fast", minutes=10)
    verdict = evaluate(_decided_after(4), ruleset(fast), now=at("2024-09-30", 10))
    assert verdict.rule_ids == ("FAST",)
    assert verdict.hits[0].detail == "受理至决定用时 4 分钟（少于 10 分钟）"
    assert _fired(_decided_after(10), fast, now=at("2024-09-30", 10)) == ()
    not_yet = facts(move("accept", at("2024-09-30", 9)), status="in_review")
    assert _fired(not_yet, fast, now=at("2024-09-30", 9, 1)) == ()


def test_too_fast_over_another_span() -> None:
    review_to_close = rule("FAST", "yellow", "too_fast", from_step="review", to_step="close",
                           minutes=60)
    case = facts(*handled(), status="closed")  # reviewed 10:30, closed 12:00
    assert _fired(case, review_to_close, now=at("2024-09-30")) == ()
    assert _fired(case, {**review_to_close, "condition": {
        "kind": "too_fast", "from_step": "review", "to_step": "close", "minutes": 91}},
        now=at("2024-09-30")) == ("FAST",)


# --- repeated_correction -------------------------------------------------------------------


def test_repeated_correction() -> None:
    again = rule("AGAIN", "yellow", "repeated_correction")
    once = (move("request_correction", at("2024-09-27", 10)), move("resubmit", at("2024-09-30")))
    twice = (*once, move("request_correction", at("2024-09-30", 10)),
             move("resubmit", at("2024-10-08")))
    assert _fired(facts(*once), again, now=at("2024-10-08")) == ()
    verdict = evaluate(facts(*twice), ruleset(again), now=at("2024-10-08"))
    assert verdict.rule_ids == ("AGAIN",) and verdict.hits[0].detail == "已要求补正 2 次"
    allows_two = rule("AGAIN", "yellow", "repeated_correction", max_requests=2)
    assert _fired(facts(*twice), allows_two, now=at("2024-10-08")) == ()


# --- long_suspension -----------------------------------------------------------------------


def _suspended(resumed: str | None) -> CaseFacts:
    moves = [move("accept", at("2024-09-27", 10)), move("approve_step", at("2024-09-27", 11)),
             move("suspend", at("2024-09-30"))]
    if resumed:
        moves.append(move("resume", at(resumed)))
    return facts(*moves, status="suspended" if resumed is None else "awaiting_decision")


def test_long_suspension_counts_working_days_of_the_pause() -> None:
    long = rule("LONG", "yellow", "long_suspension", days=5)
    # (30 Sep, 14 Oct]: 8, 9, 10, 11, 12 (调休 Saturday) and 14 Oct = 6 working days.
    assert _fired(_suspended("2024-10-12"), long, now=at("2024-10-20")) == ()  # 5 days
    verdict = evaluate(_suspended("2024-10-14"), ruleset(long), now=at("2024-10-20"))
    assert verdict.rule_ids == ("LONG",)
    assert verdict.hits[0].detail == "自 2024-09-30 中止至 2024-10-14，共 6 个工作日"


def test_long_suspension_still_open_counts_up_to_now() -> None:
    long = rule("LONG", "yellow", "long_suspension", days=5)
    assert _fired(_suspended(None), long, now=at("2024-10-12")) == ()
    assert "至今" in evaluate(_suspended(None), ruleset(long),
                             now=at("2024-10-14")).hits[0].detail


# --- scope, precedence, determinism --------------------------------------------------------


def test_scope_by_item_or_category() -> None:
    off = {"kind": "off_flow"}
    by_item = {"id": "ITEM", "light": "red", "condition": off, "text": "x",
               "scope": {"items": [ITEM]}}
    by_other_item = {**by_item, "id": "OTHER", "scope": {"items": [OTHER_ITEM]}}
    by_category = {**by_item, "id": "CAT", "scope": {"categories": ["行政许可"]}}
    by_penalty = {**by_item, "id": "PEN", "scope": {"categories": ["penalty"]}}
    case = facts(status="decided")
    assert _fired(case, by_item, by_other_item, by_category, by_penalty,
                  now=at("2024-09-30")) == ("ITEM", "CAT")


def test_red_beats_yellow_and_hits_keep_the_file_order() -> None:
    rules = ruleset(rule("WARN", "yellow", "time_used", remaining_days=2),
                    rule("LATE", "red", "time_used", overdue=True, rule_auto_order=True),
                    rule("MISSING", "yellow", "materials_missing_at_acceptance"))
    case = facts(move("accept", at("2024-09-27", 10)), status="in_review",
                 missing_at_acceptance=("申请书",))
    verdict = evaluate(case, rules, now=at("2024-10-11"))
    assert verdict.light is Light.red
    assert verdict.rule_ids == ("WARN", "LATE", "MISSING")
    assert [h.light for h in verdict.hits] == [Light.yellow, Light.red, Light.yellow]
    assert [h.rule_id for h in verdict.auto_orders] == ["LATE"]
    assert evaluate(case, rules, now=at("2024-10-11")) == verdict
    assert evaluate(case, rules, now=at("2024-09-30")).light is Light.yellow
    assert evaluate(facts(), ruleset(), now=at("2024-10-11")).light is Light.none
    assert (Light.none.zh, Light.yellow.zh, Light.red.zh) == ("正常", "预警", "报警")


def test_the_clock_must_be_aware() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        evaluate(facts(), ruleset(), now=datetime(2024, 10, 1, 9))
    with pytest.raises(ValueError, match="no time zone"):
        Move(at=datetime(2024, 10, 1, 9), actor="a", role="clerk",
             action=Action.accept)


def test_facts_take_database_strings_and_derive_pauses() -> None:
    case = facts(status="in_review")
    assert case.status is CaseStatus.in_review and case.category.value == "licence"
    moves = (move("request_correction", at("2024-09-27", 10)),
             move("resubmit", at("2024-09-30")), move("accept", at("2024-09-30", 10)),
             move("approve_step", at("2024-09-30", 11)), move("suspend", at("2024-10-08")))
    corrections, suspensions = pauses_from_history(moves)
    assert [(a.isoformat(), b and b.isoformat()) for a, b in corrections] == [
        ("2024-09-27", "2024-09-30")]
    assert [(a.isoformat(), b) for a, b in suspensions] == [("2024-10-08", None)]
    with pytest.raises(ValueError):
        facts(promised_limit_days=-1)
