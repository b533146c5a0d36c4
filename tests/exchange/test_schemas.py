"""The JSON Schema per event type: valid samples pass, violations name their pointer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.schemas import (
    SchemaViolation,
    UnknownType,
    check_envelope,
    event_type,
    known_types,
)
from tests.exchange.conftest import case_data

NOW = "2026-12-01T08:00:00+08:00"
ORDER_ID = str(uuid.uuid4())
RECEIPT = "320703-20261201-000001"
SAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # type: (data, addressing attributes)
    "sunlight.case.event": (case_data(), {"subject": RECEIPT, "sequence": 1}),
    "sunlight.stats.snapshot": ({"as_of": NOW, "overdue_open": 1, "counts": [
        {"department": "320703-SCJGJ", "status": "submitted", "count": 4}]}, {}),
    "sunlight.supervision.order": ({"order_id": ORDER_ID, "receipt": RECEIPT, "text": "请说明",
                                    "issued_by": "li", "issued_at": NOW, "due_on": "2026-12-08"},
                                   {"destination": "320703"}),
    "sunlight.supervision.answer": ({"order_id": ORDER_ID, "receipt": RECEIPT, "text": "已办结",
                                     "answered_by": "wang", "answered_at": NOW,
                                     "case_status": "closed"}, {"destination": "320000"}),
    "sunlight.supervision.review": ({"order_id": ORDER_ID, "decision": "return",
                                     "note": "答复未说明超期原因", "reviewed_by": "zhao",
                                     "reviewed_at": NOW}, {"destination": "320703"}),
    "sunlight.supervision.escalation": ({"order_id": ORDER_ID, "issuer": "320703",
                                         "target": "320703", "department": "320703-SCJGJ",
                                         "receipt": None, "text": "请说明", "due_on": "2026-12-04",
                                         "issued_by": "system", "issued_at": NOW,
                                         "status": "open", "returns": 1, "escalated_at": NOW},
                                        {"destination": "320700"}),
    "sunlight.catalogue.baseline": ({"version": 1, "title": "基线", "items": [
        {"code": "320703-SCJGJ-QT-001", "version": 1, "name": "企业年度报告公示",
         "category": "other", "department": "320703-SCJGJ", "doc": {}}]},
        {"destination": "*"}),
    "sunlight.catalogue.adoption": ({"issuer": "320000", "baseline_version": 1,
                                     "decision": "localized", "localized": [
                                         {"code": "320703-SCJGJ-QT-001", "note": "本地时限"}],
                                     "note": "", "decided_by": "admin", "decided_at": NOW}, {}),
    "sunlight.case.light": ({"receipt": RECEIPT, "department": "320703-SCJGJ",
                             "item_code": "320703-SCJGJ-QT-001", "status": "in_review",
                             "light": "red", "previous": "yellow",
                             "rule_ids": ["TIME-WARN", "TIME-OVERDUE"], "hits": [
                                 {"rule_id": "TIME-OVERDUE", "light": "red",
                                  "text": "已超过承诺办结时限仍未办结。",
                                  "detail": "承诺办结日 2026-12-03，已超期"}],
                             "change": 2, "at": NOW}, {}),
    "sunlight.data.baseline": ({"kind": "supervision_rules", "version": 2,
                                "text": "site: '320000'\n", "sha256": "0" * 64,
                                "published_by": "admin", "published_at": NOW},
                               {"destination": "*"}),
    "sunlight.enforcement.step": ({
        "case_id": ORDER_ID, "department": "320703-SCJGJ", "item_code": "320703-SCJGJ-CF-001",
        "item_version": 1, "category": "penalty", "major": True, "step": "open", "step_no": 1,
        "stage": "opened", "override": False, "band": None, "at": NOW, "records": [{
            "step": "open", "on": "2026-03-02",
            "by": {"user": "wang", "role": "officer", "certificate": "32070300101"},
            "party": {"kind": "person", "name": "张某", "id_number": "110105************",
                      "address": "", "legal_representative": ""},
            "source": "投诉举报", "summary": "张某无证经营"}]}, {}),
    "sunlight.enforcement.refusal": ({
        "refusal_id": 7, "department": "320703-SCJGJ", "item_code": "320703-SCJGJ-CF-001",
        "case_id": ORDER_ID, "code": "out_of_band", "step": "decide", "month": "2026-04",
        "refused_on": "2026-04-01", "actor": "li.ju", "at": NOW}, {}),
    "sunlight.enforcement.challenge": ({
        "challenge_id": ORDER_ID, "case_id": ORDER_ID, "department": "320703-SCJGJ",
        "kind": "reconsideration", "filed_on": "2026-04-10", "body": "连云港市海州区人民政府",
        "filed_by": "lg.fa", "outcome": "upheld", "decided_on": "2026-05-20",
        "decided_by": "lg.fa", "at": NOW}, {}),
    "sunlight.audit.anchor": ({
        "site": "320703", "seq": 42, "hash": "ab" * 32, "at": NOW,
        "signature": "A" * 86 + "=="}, {}),
}


def _doc(type_: str, data: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    env = Envelope.new("320703", type_, data, subject=attrs.pop("subject", None),
                       sequence=attrs.pop("sequence", None),
                       destination=attrs.pop("destination", None))
    return {**env.to_dict(), **attrs}


def test_every_type_has_a_sample_and_the_sample_is_valid() -> None:
    assert set(SAMPLES) == known_types()
    for type_, (data, attrs) in SAMPLES.items():
        doc = _doc(type_, data, **attrs)
        check_envelope(doc).check(doc)


@pytest.mark.parametrize("type_, change, pointer", [
    ("sunlight.case.event", {"to_status": "teleported"}, "/to_status"),
    ("sunlight.case.event", {"receipt": "R-1"}, "/receipt"),
    ("sunlight.case.event", {"at": "yesterday"}, "/at"),
    ("sunlight.case.event", {"at": "2026-12-01T08:00:00"}, "/at"),  # no offset
    ("sunlight.case.event", {"smuggled": "x"}, "/"),
    ("sunlight.stats.snapshot", {"counts": [{"department": "d", "status": "s", "count": -1}]},
     "/counts/0/count"),
    ("sunlight.supervision.order", {"text": ""}, "/text"),
    ("sunlight.supervision.review", {"decision": "return", "note": ""}, "/note"),
    ("sunlight.supervision.review", {"decision": "ignore"}, "/decision"),
    ("sunlight.supervision.escalation", {"status": "answered"}, "/status"),
    ("sunlight.supervision.escalation", {"target": "3207"}, "/target"),
    ("sunlight.catalogue.baseline", {"items": []}, "/items"),
    ("sunlight.catalogue.adoption", {"decision": "ignored"}, "/decision"),
    ("sunlight.case.light", {"light": "green"}, "/light"),
    ("sunlight.case.light", {"change": 0}, "/change"),
    ("sunlight.case.light", {"hits": [{"rule_id": "X", "light": "none", "text": "t"}]},
     "/hits/0/light"),
    ("sunlight.data.baseline", {"kind": "anything"}, "/kind"),
    ("sunlight.enforcement.step", {"step": "appeal"}, "/step"),
    ("sunlight.enforcement.step", {"records": []}, "/records"),
    ("sunlight.enforcement.step", {"category": "licence"}, "/category"),
    ("sunlight.enforcement.refusal", {"refusal_id": 0}, "/refusal_id"),
    ("sunlight.enforcement.refusal", {"month": "2026-13"}, "/month"),
    ("sunlight.enforcement.refusal", {"reason": "金额超出裁量基准"}, "/"),
    ("sunlight.audit.anchor", {"hash": "AB" * 32}, "/hash"),
    ("sunlight.audit.anchor", {"seq": 0}, "/seq"),
    ("sunlight.audit.anchor", {"signature": "not base64"}, "/signature"),
    ("sunlight.enforcement.challenge", {"kind": "appeal"}, "/kind"),
    ("sunlight.enforcement.challenge", {"outcome": "dismissed"}, "/outcome"),
    ("sunlight.enforcement.challenge", {"decided_on": None}, "/decided_on"),
    ("sunlight.enforcement.challenge", {"outcome": None, "decided_by": None}, "/decided_on"),
])
def test_a_data_violation_names_its_pointer(type_: str, change: dict[str, Any],
                                            pointer: str) -> None:
    data, attrs = SAMPLES[type_]
    doc = _doc(type_, {**data, **change}, **attrs)
    with pytest.raises(SchemaViolation) as caught:
        check_envelope(doc).check(doc)
    assert caught.value.pointer == pointer


@pytest.mark.parametrize("type_, attrs, problem", [
    ("sunlight.case.event", {"subject": RECEIPT}, "needs subject and sequence"),
    ("sunlight.stats.snapshot", {"sequence": 4}, "must not carry a sequence"),
    ("sunlight.supervision.order", {}, "addressing is site"),
    ("sunlight.supervision.order", {"destination": "*"}, "addressing is site"),
    ("sunlight.catalogue.baseline", {"destination": "320703"}, "addressing is broadcast"),
    # A light is outside the per-case sequence: a parent that does not know the type yet
    # dead-letters it without holding the case's later events.
    ("sunlight.case.light", {"subject": RECEIPT, "sequence": 3}, "must not carry a sequence"),
    ("sunlight.data.baseline", {}, "addressing is broadcast"),
    # Outside the per-case sequence too: an enforcement case is not a licence case's
    # lifecycle, and a parent not upgraded yet must hold nothing behind it.
    ("sunlight.enforcement.step", {"subject": RECEIPT, "sequence": 1},
     "must not carry a sequence"),
    ("sunlight.enforcement.refusal", {"subject": RECEIPT, "sequence": 1},
     "must not carry a sequence"),
    ("sunlight.enforcement.challenge", {"destination": "320700"}, "addressing is none"),
    ("sunlight.case.event", {"subject": RECEIPT, "sequence": 1, "destination": "320000"},
     "addressing is none"),
])
def test_addressing_rules_of_each_type(type_: str, attrs: dict[str, Any], problem: str) -> None:
    doc = _doc(type_, SAMPLES[type_][0], **attrs)
    with pytest.raises(SchemaViolation, match=problem):
        check_envelope(doc).check(doc)


@pytest.mark.parametrize("change, pointer", [
    ({"specversion": "0.3"}, "/specversion"),
    ({"source": "32070"}, "/source"),
    ({"id": "not-a-uuid"}, "/id"),
    ({"sequence": 0}, "/sequence"),
    ({"extra": 1}, "/"),
    ({"data": "text"}, "/data"),
])
def test_the_envelope_itself_is_checked(change: dict[str, Any], pointer: str) -> None:
    data, attrs = SAMPLES["sunlight.case.event"]
    with pytest.raises(SchemaViolation) as caught:
        check_envelope({**_doc("sunlight.case.event", data, **attrs), **change})
    assert caught.value.pointer == pointer


def test_unknown_types_and_versions() -> None:
    data, attrs = SAMPLES["sunlight.case.event"]
    with pytest.raises(UnknownType, match=r"sunlight.case.deleted v1"):
        check_envelope(_doc("sunlight.case.deleted", data, **attrs))
    with pytest.raises(UnknownType, match=r"v2"):
        check_envelope({**_doc("sunlight.case.event", data, **attrs), "schemaversion": 2})
    spec = event_type("sunlight.supervision.order", 1)
    assert (spec.direction, spec.sequenced, spec.addressing) == ("down", False, "site")
