"""The penalty decision: its number, the party, the appeal deadlines, the public summary."""

from __future__ import annotations

import random
import warnings
from dataclasses import asdict, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sunlight.enforcement.decision import (
    AppealDeadlines,
    DecisionNumber,
    PenaltyDecision,
    appeal_deadlines,
    decision_from_case,
    deidentified_summary,
    format_decision_number,
    parse_decision_number,
)
from sunlight.enforcement.errors import IllegalStep, InvalidRecord
from sunlight.enforcement.flow import Stage
from sunlight.enforcement.party import Party, mask_id, mask_name
from sunlight.workflow.identity import generate_credit_code, generate_resident_id
from tests.enforcement.builders import (
    BASIS,
    COMPANY,
    INSPECTION,
    MAJOR,
    PERSON,
    item,
    opening,
    run_until,
    standard_records,
)

NUMBER = "连海市监罚〔2026〕12号"


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("department", "year", "serial", "kind", "expected"), [
    ("连海市监", 2026, 12, "罚", "连海市监罚〔2026〕12号"),
    (" 连云公交 ", 2025, 1, "罚", "连云公交罚〔2025〕1号"),
    ("连云环", 2026, 999999, "罚", "连云环罚〔2026〕999999号"),
    ("连海市监", 2026, 3, "强", "连海市监强〔2026〕3号"),
])
def test_decision_numbers(department: str, year: int, serial: int, kind: str,
                          expected: str) -> None:
    number = format_decision_number(department, year, serial, kind)
    assert number == expected
    assert parse_decision_number(number) == DecisionNumber(department.strip(), kind, year,
                                                           serial)


@pytest.mark.parametrize(("args", "field"), [
    (("", 2026, 1), "department"),
    (("SCJGJ", 2026, 1), "department"),
    (("连海〔市监〕", 2026, 1), "department"),
    (("连" * 13, 2026, 1), "department"),
    (("连海市监", 1999, 1), "year"),
    (("连海市监", 3000, 1), "year"),
    (("连海市监", "2026", 1), "year"),
    (("连海市监", 2026, 0), "serial"),
    (("连海市监", 2026, -3), "serial"),
    (("连海市监", 2026, 1_000_000), "serial"),
    (("连海市监", 2026, True), "serial"),
])
def test_bad_number_parts_are_refused(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        format_decision_number(*args)
    assert caught.value.field == field


def test_bad_kind_is_refused() -> None:
    with pytest.raises(InvalidRecord) as caught:
        format_decision_number("连海市监", 2026, 1, "FA")
    assert caught.value.field == "kind"


@pytest.mark.parametrize("text", [
    "连海市监罚[2026]12号", "连海市监罚〔2026〕012号", "连海市监罚〔2026〕12",
    "连海市监罚（2026）12号", "罚〔2026〕12号", "连海市监罚〔26〕12号", "连海市监罚〔1999〕12号"])
def test_bad_numbers_do_not_parse(text: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_decision_number(text)
    assert caught.value.field in ("number", "year")


# -- deadlines ----------------------------------------------------------------------------


def test_deadlines_count_from_the_day_after_service() -> None:
    # Served Monday 16 March 2026: 15 days → Tue 31 March; 60 days → Fri 15 May;
    # 6 months → Wed 16 September.
    assert appeal_deadlines(date(2026, 3, 16)) == AppealDeadlines(
        date(2026, 3, 16), date(2026, 3, 31), date(2026, 5, 15), date(2026, 9, 16))


def test_a_last_day_on_a_holiday_moves_to_the_next_working_day() -> None:
    # 60 days after 2 March is 1 May (劳动节, 1–5 May): 6 May.
    assert appeal_deadlines(date(2026, 3, 2)).reconsideration_by == date(2026, 5, 6)
    # 15 days after 16 April is 1 May too: 6 May.
    assert appeal_deadlines(date(2026, 4, 16)).payment_by == date(2026, 5, 6)
    # 60 days after 14 March is Wednesday 13 May: a working day, kept.
    assert appeal_deadlines(date(2026, 3, 14)).reconsideration_by == date(2026, 5, 13)


def test_a_last_day_on_a_weekend_moves_but_an_adjusted_working_day_stays() -> None:
    # 15 days after Friday 6 March is Saturday 21 March: Monday 23rd.
    assert appeal_deadlines(date(2026, 3, 6)).payment_by == date(2026, 3, 23)
    # 6 months after 31 August 2025: no 31 February, the 28th — a 调休 Saturday, kept.
    assert appeal_deadlines(date(2025, 8, 31)).litigation_by == date(2026, 2, 28)


def test_six_months_to_the_end_of_a_shorter_month() -> None:
    assert appeal_deadlines(date(2023, 8, 31)).litigation_by == date(2024, 2, 29)  # leap
    assert appeal_deadlines(date(2025, 12, 31)).litigation_by == date(2026, 6, 30)


# -- the party ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "number", "reason"), [
    ("person", "110105194912310021", "check digit does not match"),
    ("person", "1101051949123100", "wrong length"),
    ("person", "110105194913310021", "invalid birth date"),
    ("company", "91110000600037341A", "check digit does not match"),
    ("company", "91110000600037341", "wrong length"),
    ("company", "", "missing"),
])
def test_a_party_with_a_bad_identifier_is_refused(kind: str, number: str, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        Party(kind, "张伟", number)  # type: ignore[arg-type]
    assert caught.value.field == "party.id_number" and caught.value.reason.startswith(reason)
    assert caught.value.http_status == 422


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kind": "robot"}, "party.kind"),
    ({"name": "  "}, "party.name"),
    ({"legal_representative": "某某"}, "party.legal_representative"),
])
def test_a_party_with_bad_fields_is_refused(kwargs: dict[str, Any], field: str) -> None:
    data = {"kind": "person", "name": "张伟", "id_number": "11010519491231002X", **kwargs}
    with pytest.raises(InvalidRecord) as caught:
        Party(**data)
    assert caught.value.field == field


def test_a_party_number_is_normalised() -> None:
    assert Party("person", " 张伟 ", "１１０１０５ 19491231002x").id_number == "11010519491231002X"
    rng = random.Random(3)
    for _ in range(20):
        assert Party("person", "李四", generate_resident_id(rng)).kind == "person"
        assert Party("company", "某公司", generate_credit_code(rng)).kind == "company"


def test_a_bad_party_stops_the_opening() -> None:
    with pytest.raises(InvalidRecord) as caught:
        opening(party=Party("company", "某公司", "91320703MA1XXXXXX1"))
    assert caught.value.field == "party.id_number"


# -- the decision document ---------------------------------------------------------------


def _decision(**changes: Any) -> PenaltyDecision:
    base = PenaltyDecision(
        number=NUMBER, department="连云区市场监督管理局", party=PERSON,
        facts="经查，张伟（公民身份号码11010519491231002X）于2026年2月在连云区海棠路无证经营食品。",
        violation="V01", violation_description="未取得食品经营许可从事食品经营活动",
        legal_basis=BASIS, severity="general", severity_label="一般",
        amount_yuan=Decimal("70000"), decided_on=date(2026, 3, 13),
        served_on=date(2026, 3, 16), reconsideration_body="连云区人民政府",
        court="连云港市连云区人民法院")
    return replace(base, **changes)


def test_a_decision_states_rights_and_deadlines() -> None:
    decision = _decision()
    assert decision.amount_yuan == Decimal("70000.00")
    assert decision.penalty_text == "罚款人民币70000.00元"
    assert decision.deadlines == appeal_deadlines(date(2026, 3, 16))
    rights = decision.rights_text
    assert "十五" not in rights and "15日内缴纳罚款" in rights
    assert "60日内向连云区人民政府申请行政复议" in rights
    assert "6个月内依法向连云港市连云区人民法院提起行政诉讼" in rights
    assert "申请行政复议截至2026年5月15日" in rights and "提起行政诉讼截至2026年9月16日" in rights


def test_a_decision_not_yet_served_has_no_dates_yet() -> None:
    decision = _decision(served_on=None)
    assert decision.deadlines is None
    assert "截至" not in decision.rights_text and "有管辖权的人民法院" not in decision.rights_text
    assert "有管辖权的人民法院" in _decision(served_on=None, court="").rights_text


@pytest.mark.parametrize(("changes", "field"), [
    ({"number": "连海市监罚2026-12"}, "number"),
    ({"facts": " "}, "facts"),
    ({"legal_basis": ""}, "legal_basis"),
    ({"severity": "grave"}, "severity"),
    ({"amount_yuan": Decimal("-1")}, "amount_yuan"),
    ({"amount_yuan": Decimal("1.005")}, "amount_yuan"),
    ({"amount_yuan": "lots"}, "amount_yuan"),
    ({"served_on": date(2026, 3, 12)}, "served_on"),
])
def test_a_bad_decision_is_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        _decision(**changes)
    assert caught.value.field == field


def test_the_decision_of_a_case() -> None:
    case = run_until(Stage.served)
    decision = decision_from_case(case, item(MAJOR), number=NUMBER,
                                  department="连云区市场监督管理局",
                                  reconsideration_body="连云区人民政府")
    assert (decision.party, decision.violation, decision.severity_label) == (
        COMPANY, "V01", "一般")
    assert decision.violation_description == \
        "未取得食品经营许可从事食品经营活动，货值金额不足一万元"
    assert decision.amount_yuan == Decimal("70000.00") and decision.legal_basis == BASIS
    assert (decision.decided_on, decision.served_on) == (date(2026, 3, 13), date(2026, 3, 16))
    assert decision.item_code == MAJOR
    decided = decision_from_case(run_until(Stage.decided), item(MAJOR), number=NUMBER,
                                 department="连云区市场监督管理局")
    assert decided.served_on is None


def test_no_decision_document_before_the_decision_or_for_other_items() -> None:
    with pytest.raises(IllegalStep, match="no decision yet"):
        decision_from_case(run_until(Stage.reviewed), item(MAJOR), number=NUMBER,
                           department="连云区市场监督管理局")
    with pytest.raises(IllegalStep, match="for penalty items"):
        decision_from_case(run_until(Stage.reviewed), item(INSPECTION), number=NUMBER,
                           department="连云区市场监督管理局")
    assert len(standard_records()) == 8


# -- de-identification ----------------------------------------------------------------------


def test_a_person_is_masked_in_the_public_summary() -> None:
    summary = deidentified_summary(_decision())
    assert (summary.party_name, summary.party_id) == ("张某", "110105************")
    assert "张伟" not in summary.facts and "11010519491231002X" not in summary.facts
    assert "张某（公民身份号码110105************）" in summary.facts
    text = repr(asdict(summary)) + repr(summary.as_dict())
    for secret in ("张伟", "11010519491231002X", "19491231", "海棠路 8 号"):
        assert secret not in text
    assert summary.as_dict()["amount_yuan"] == "70000.00"
    assert summary.penalty == "罚款人民币70000.00元"


def test_a_company_is_named_in_the_public_summary() -> None:
    summary = deidentified_summary(_decision(party=COMPANY, facts="当事人无证经营食品"))
    assert summary.party_name == "连云港某某食品有限公司"
    assert summary.party_id == "91110000600037341L"
    assert summary.legal_representative == "赵某"
    assert "中山路" not in repr(summary.as_dict())  # no address


def test_the_summary_is_due_within_seven_working_days() -> None:
    # Decided Friday 13 March: 16, 17, 18, 19, 20, 23, 24 March.
    assert deidentified_summary(_decision()).publish_by == date(2026, 3, 24)
    # 20 working days pass over 清明 (4-6 April): 13 April.
    assert deidentified_summary(_decision(), publish_within_days=20).publish_by == \
        date(2026, 4, 13)


def test_masking_helpers() -> None:
    assert mask_name("欧阳娜娜") == "欧某" and mask_name(" ") == ""
    assert mask_id("320703199001011234") == "320703************"


def test_no_calendar_warning_for_dates_the_calendar_knows() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        appeal_deadlines(date(2026, 3, 16))
