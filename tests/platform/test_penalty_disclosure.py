"""行政处罚结果公示: core writes a decision's de-identified summary to its outbound feed; the
gateway's whitelist refuses anything else; the portal keeps the latest per case (no database)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sunlight.runtime.core.enforcement_exchange import disclosure, report_step
from sunlight.runtime.core.models import Outbound
from sunlight.runtime.gateway.service import _apply_outward, _digest
from sunlight.runtime.portal.api import _disclosure_out
from sunlight.runtime.portal.models import PenaltyDisclosureEntry
from sunlight.runtime.records import OUTWARD, PenaltyDisclosure, RecordRejected, parse_record
from tests.exchange.enforcement_case import COMPANY, NOW, PERSON, Session, item, row

CASE_ID = "5f0c1e2a-8d3b-4c6e-9a7f-0b1c2d3e4f50"


def _person_summary() -> dict[str, Any]:
    record = disclosure(Session(), row(PERSON, 5), item())  # type: ignore[arg-type]
    assert record is not None
    return record.payload()


def test_a_decision_of_a_penalty_item_is_disclosed_de_identified() -> None:
    session = Session()
    report_step(session, "320703", row(PERSON, 5), item(), now=NOW)  # type: ignore[arg-type]
    (feed,) = session.of(Outbound)
    assert feed.record_type == "penalty.disclosure" and "penalty.disclosure" in OUTWARD
    assert feed.payload == {
        "case_id": CASE_ID, "number": None, "department": "320703-SCJGJ",
        "department_name": "连云港市海州区市场监督管理局",
        "item_code": "320703-SCJGJ-CF-001",
        "item_name": "对未取得食品生产经营许可从事食品生产经营活动的行政处罚",
        "party_kind": "person", "party_name": "张某", "party_id": "110105************",
        "legal_representative": "",
        "violation": "未取得食品经营许可从事食品经营活动，货值金额不足一万元",
        "facts": "张某（110105************）未取得食品经营许可经营食品",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十二条第一款",
        "penalty": "罚款人民币70000.00元", "amount_yuan": "70000.00",
        "decided_on": "2026-03-13", "publish_by": "2026-03-24"}  # 7 working days
    assert parse_record("outward", "penalty.disclosure", feed.payload).payload() == feed.payload
    _digest(feed.payload)  # it has a canonical form: the gateway can digest it


def test_only_the_decision_step_is_disclosed() -> None:
    for steps in (1, 2, 3, 4, 6):
        session = Session()
        report_step(session, "320703", row(PERSON, steps), item(), now=NOW)  # type: ignore[arg-type]
        assert session.of(Outbound) == []


def test_a_company_is_named_and_a_number_allocated_at_the_decision_is_used() -> None:
    case = row(COMPANY, 5)
    record = disclosure(Session(), case, item(),  # type: ignore[arg-type]
                        decision_number="连海市监罚〔2026〕12号")
    assert record is not None
    assert (record.number, record.party_name, record.party_id, record.legal_representative) == (
        "连海市监罚〔2026〕12号", "连云港某某食品有限公司", "91110000600037341L", "李四")


def test_any_full_resident_id_in_the_facts_is_masked() -> None:
    case = row(COMPANY, 5)
    witness = "证人王五（32070319900101123X）证实"
    case.records[-1]["terms"]["facts"] = witness
    record = disclosure(Session(), case, item())  # type: ignore[arg-type]
    assert record is not None and record.facts == "证人王五（320703************）证实"


@pytest.mark.parametrize("change, field", [
    ({"party_id": "11010519491231002X"}, "party_id"),
    ({"party_name": "张伟"}, "party_name"),
    ({"legal_representative": "张伟"}, "legal_representative"),
    ({"facts": "张某（11010519491231002x）无证经营"}, "facts"),
    ({"party_kind": "company"}, "party_id"),  # a masked number is no credit code
    ({"amount_yuan": "70000.001"}, "amount_yuan"),
    ({"case_id": "not-a-uuid"}, "case_id"),
    ({"address": "连云港市海州区某路1号"}, "address"),  # not on the whitelist
])
def test_the_whitelist_refuses_what_may_not_be_disclosed(change: dict[str, Any],
                                                         field: str) -> None:
    with pytest.raises(RecordRejected, match=rf"^penalty\.disclosure: {field}: "):
        parse_record("outward", "penalty.disclosure", {**_person_summary(), **change})


def test_the_whitelist_accepts_a_company_by_its_credit_code_only() -> None:
    company = {**_person_summary(), "party_kind": "company", "party_name": "某某有限公司",
               "party_id": "91110000600037341L", "legal_representative": "李四"}
    assert isinstance(parse_record("outward", "penalty.disclosure", company),
                      PenaltyDisclosure)
    with pytest.raises(RecordRejected, match=r"party_id: .*credit code"):
        parse_record("outward", "penalty.disclosure",
                     {**company, "party_id": "91110000600037341*"})
    with pytest.raises(RecordRejected, match="may not cross inward"):
        parse_record("inward", "penalty.disclosure", company)


class _Portal:
    """Just enough of the portal's session for the gateway's apply."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, PenaltyDisclosureEntry] = {}

    def get(self, model: type[Any], key: uuid.UUID, **_: Any) -> PenaltyDisclosureEntry | None:
        assert model is PenaltyDisclosureEntry
        return self.rows.get(key)

    def add(self, entry: PenaltyDisclosureEntry) -> None:
        self.rows[entry.case_id] = entry


def test_the_gateway_keeps_the_latest_per_case_and_the_portal_serves_it() -> None:
    portal = _Portal()
    first = parse_record("outward", "penalty.disclosure", _person_summary())
    _apply_outward(portal, first)  # type: ignore[arg-type]
    (entry,) = portal.rows.values()
    out = _disclosure_out(entry)
    assert (out.reference, out.number) == ("案5f0c1e2a8d3b", None)
    assert (out.party_name, out.party_id, out.amount_yuan) == (
        "张某", "110105************", "70000.00")
    numbered = parse_record("outward", "penalty.disclosure",
                            {**_person_summary(), "number": "连海市监罚〔2026〕12号"})
    _apply_outward(portal, numbered)  # type: ignore[arg-type]
    (entry,) = portal.rows.values()
    assert _disclosure_out(entry).reference == "连海市监罚〔2026〕12号"
    assert entry.amount_yuan == Decimal("70000.00") and entry.decided_on == date(2026, 3, 13)
