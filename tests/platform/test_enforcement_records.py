"""Enforcement records survive their JSON form (what core stores and replays)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sunlight.catalogue import sample_catalogue
from sunlight.enforcement import flow
from sunlight.enforcement.officers import load_registry, sample_registry_text
from sunlight.enforcement.party import Party
from sunlight.runtime.core.enforcement import record_from_json, record_to_json


def test_records_round_trip_and_replay() -> None:
    item = sample_catalogue().item("320703-SCJGJ-CF-001")
    registry = load_registry(sample_registry_text())
    wang = flow.Actor("wang", flow.OFFICER, "32070300101")
    terms = flow.Terms("《食品安全法》第一百二十二条", "无证经营", "V01", "general",
                       Decimal("70000"))
    records: list[flow.Record] = [
        flow.Opening(date(2026, 3, 2), wang,
                     Party("company", "某某食品有限公司", "91110000600037341L"), "投诉举报",
                     "无证"),
        flow.Investigation(date(2026, 3, 4), wang, ("32070300101", "32070300102"),
                           (flow.Evidence("record", "现场笔录", "ab" * 32),), "无证经营"),
        flow.Notice(date(2026, 3, 5), wang, terms, 5, True),
        flow.LegalReview(date(2026, 3, 6), flow.Actor("li", flow.LEGAL_REVIEWER), "同意"),
        flow.Decision(date(2026, 3, 13), flow.Actor("zhao", flow.APPROVER), terms),
        flow.Execution(date(2026, 3, 20), wang, "performed", Decimal("70000.00")),
    ]
    case = flow.replay(item, records[:5], registry)
    stored = [record_to_json(r) for r in case.history]
    assert [record_from_json(doc) for doc in stored] == list(case.history)
    assert stored[2]["intended"]["amount_yuan"] == "70000.00"
    assert record_from_json(record_to_json(records[5])) == records[5]
    assert flow.replay(item, [record_from_json(d) for d in stored], registry) == case
