"""Poison rows: a crossing the gateway cannot deliver is retried with backoff, parked after
the last attempt, and never holds the records behind it — both ways.

How these fail on the code before issue 15 (besides the missing names, ImportError):
inward, a row core answered 422 was rejected at the first attempt (never retried), and a row
core answered any other 4xx or 5xx stopped the pass (``break``) so the rows behind it never
moved — the good complaint below stayed pending; outward, a feed record that failed the
whitelist held the cursor (``break``) for ever, so the catalogue item behind it was never
applied.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sunlight.runtime.gateway.service import (
    Moved,
    Retry,
    backoff,
    carry_rows,
    take_records,
)
from sunlight.runtime.portal.models import (
    CatalogueEntry,
    Crossing,
    GatewayCursor,
    Inbox,
    Outbox,
    ParkedOutward,
)

RECEIPT = "320703-20261128-000001"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
RETRY = Retry(base_s=5, max_s=600, park_after=8)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff(n, RETRY) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 600,
                                                          600]


class _Session:
    """Just enough of a session: lookups by key, and what was added."""

    def __init__(self, **by_type: dict[Any, Any]) -> None:
        self.by_type, self.added, self.executed = by_type, list[Any](), list[Any]()

    def execute(self, statement: Any) -> None:
        self.executed.append(statement)

    def get(self, model: type[Any], key: Any, **_: Any) -> Any:
        return self.by_type.get(model.__name__, {}).get(key)

    def add(self, obj: Any) -> None:
        self.added.append(obj)


def _complaint(text: str) -> Outbox:
    return Outbox(id=uuid.uuid4(), record_type="feedback.complaint", attempts=0,
                  payload={"receipt": RECEIPT, "text": text}, last_error="")


def _core(answers: dict[str, int]) -> httpx.Client:
    """Core answering each complaint text with the status given (200 "applied" else)."""

    def handler(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["payload"]["text"]
        status = answers.get(text, 200)
        if status == 200:
            return httpx.Response(200, json={"outcome": "applied"})
        return httpx.Response(status, json={"error": "x", "detail": f"refused {text}"})

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://core")


@pytest.mark.parametrize("status", [400, 404, 409, 413, 422])
def test_a_refused_row_is_retried_later_and_the_rows_behind_it_flow(status: int) -> None:
    poison, good = _complaint("poison"), _complaint("good")
    session, moved = _Session(), Moved()
    carry_rows(session, [poison, good], _core({"poison": status}),  # type: ignore[arg-type]
               RETRY, NOW, moved)
    assert good.delivered_at is not None and good.last_error == ""
    assert [c.record_id for c in session.added if isinstance(c, Crossing)] == [good.id]
    assert poison.delivered_at is None and poison.parked_at is None
    assert poison.rejected_at is None and poison.attempts == 1
    assert poison.next_attempt_at == NOW + timedelta(seconds=5)
    assert f"core answered {status}: refused poison" == poison.last_error
    assert moved.counts == {("in", "feedback.complaint", "retry"): 1,
                            ("in", "feedback.complaint", "applied"): 1}


def test_a_row_is_parked_at_its_last_attempt_with_its_error() -> None:
    poison = _complaint("poison")
    core = _core({"poison": 422})
    now = NOW
    for attempt in range(1, RETRY.park_after + 1):
        moved = Moved()
        carry_rows(_Session(), [poison], core, RETRY, now, moved)  # type: ignore[arg-type]
        assert poison.attempts == attempt
        if attempt < RETRY.park_after:
            assert poison.parked_at is None
            assert poison.next_attempt_at == now + timedelta(seconds=backoff(attempt, RETRY))
            now = poison.next_attempt_at
    assert poison.parked_at == now and poison.next_attempt_at is None
    assert moved.counts == {("in", "feedback.complaint", "parked"): 1}
    assert "refused poison" in poison.last_error


def test_a_row_that_fails_validation_is_charged_like_a_refusal() -> None:
    bad = Outbox(id=uuid.uuid4(), record_type="feedback.complaint", attempts=0,
                 payload={"receipt": "not-a-receipt", "text": "x"}, last_error="")
    good = _complaint("good")
    carry_rows(_Session(), [bad, good], _core({}), RETRY, NOW, Moved())  # type: ignore[arg-type]
    assert bad.attempts == 1 and bad.next_attempt_at is not None and "receipt" in bad.last_error
    assert good.delivered_at is not None


def test_core_failing_on_a_row_charges_it_and_ends_the_pass() -> None:
    poison, good = _complaint("poison"), _complaint("good")
    carry_rows(_Session(), [poison, good], _core({"poison": 500}),  # type: ignore[arg-type]
               RETRY, NOW, Moved())
    assert poison.attempts == 1 and poison.next_attempt_at == NOW + timedelta(seconds=5)
    assert good.delivered_at is None and good.attempts == 0  # next pass: poison not yet due


@pytest.mark.parametrize("status", [401, 429, 503])
def test_core_unavailable_charges_no_row(status: int) -> None:
    row, good = _complaint("poison"), _complaint("good")
    carry_rows(_Session(), [row, good], _core({"poison": status}),  # type: ignore[arg-type]
               RETRY, NOW, Moved())
    assert row.attempts == 0 and row.next_attempt_at is None and row.parked_at is None
    assert row.last_error == f"core answered {status}" and good.delivered_at is None


def _catalogue_item(seq: int) -> dict[str, Any]:
    return {"seq": seq, "record_id": str(uuid.uuid4()), "record_type": "catalogue.item",
            "payload": {"code": "320703-SCJGJ-QT-001", "version": 2, "status": "published",
                        "department_name": "市场监管局",
                        "doc": {"name": "小吃店备案", "category": "其他",
                                "department": "SCJGJ"}}}


def _forged_disclosure(seq: int) -> dict[str, Any]:
    # A person disclosed with the full name and identity number: fails the whitelist.
    return {"seq": seq, "record_id": str(uuid.uuid4()), "record_type": "penalty.disclosure",
            "payload": {"case_id": str(uuid.uuid4()), "department": "SCJGJ",
                        "department_name": "市场监管局", "item_code": "320703-SCJGJ-CF-001",
                        "item_name": "处罚", "party_kind": "person", "party_name": "张三",
                        "party_id": "320703199001011234", "violation": "v", "facts": "f",
                        "legal_basis": "b", "penalty": "罚款", "amount_yuan": "100.00",
                        "decided_on": "2026-11-30", "publish_by": "2026-12-07"}}


def test_an_invalid_feed_record_is_parked_and_the_cursor_moves_past_it() -> None:
    forged, item = _forged_disclosure(41), _catalogue_item(42)
    session, cursor, moved = _Session(), GatewayCursor(name="core-outbound", value=40), Moved()
    take_records(session, cursor, [forged, item], moved)  # type: ignore[arg-type]
    assert cursor.value == 42
    parked = [a for a in session.added if isinstance(a, ParkedOutward)]
    assert len(parked) == 1 and parked[0].seq == 41
    assert parked[0].record_id == uuid.UUID(forged["record_id"])
    assert parked[0].payload == forged["payload"] and "masked" in parked[0].reason
    assert [a.record_id for a in session.added if isinstance(a, Inbox)] == [
        uuid.UUID(item["record_id"])]
    assert any(isinstance(a, CatalogueEntry) for a in session.added)
    assert moved.counts == {("out", "penalty.disclosure", "parked"): 1,
                            ("out", "catalogue.item", "applied"): 1}


def test_a_record_parked_before_is_not_parked_twice() -> None:
    forged = _forged_disclosure(41)
    key = uuid.UUID(forged["record_id"])
    session = _Session(ParkedOutward={key: ParkedOutward(record_id=key)})
    cursor = GatewayCursor(name="core-outbound", value=40)
    take_records(session, cursor, [forged], Moved())  # type: ignore[arg-type]
    assert cursor.value == 41 and session.added == []
