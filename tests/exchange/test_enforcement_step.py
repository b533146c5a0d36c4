"""``sunlight.enforcement.step``: each enforcement step goes up with the case's records, the
party de-identified, outside the per-case sequence; a parent that does not know the type
dead-letters it with the reason and goes on applying the rest (no database)."""

from __future__ import annotations

import doctest
import json
from collections.abc import Callable
from typing import Any

import pytest

from sunlight.runtime.core import enforcement_exchange
from sunlight.runtime.core.enforcement_exchange import report_step, step_data
from sunlight.runtime.exchange import schemas
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Applied, Handlers
from sunlight.runtime.exchange.inbound import Inbound, _one, accept
from sunlight.runtime.exchange.models import DeadLetter, OutboxRow
from sunlight.runtime.exchange.schemas import (
    CASE_EVENT,
    CASE_LIGHT,
    ENFORCEMENT_STEP,
    SchemaViolation,
    check_envelope,
    event_type,
)
from sunlight.runtime.exchange.signing import Keyring, seal
from sunlight.runtime.exchange.topology import Route
from tests.exchange.conftest import case_envelope
from tests.exchange.enforcement_case import COMPANY, NOW, PERSON, Session, item, row
from tests.exchange.test_case_light import _light

Private = Callable[[str], Any]
Ring = Callable[[str], Keyring]


def _step(steps: int = 5, party: Any = PERSON) -> Envelope:
    return Envelope.new("320703", ENFORCEMENT_STEP, step_data(row(party, steps), item(), NOW))


def _check(env: Envelope) -> None:
    doc = env.to_dict()
    check_envelope(doc).check(doc)


def test_the_step_type_is_up_unsequenced_and_for_every_ancestor() -> None:
    spec = event_type(ENFORCEMENT_STEP, 1)
    assert (spec.direction, spec.sequenced, spec.addressing) == ("up", False, "none")


def test_a_county_step_is_queued_for_the_city_in_the_transaction_of_the_step() -> None:
    session = Session()
    report_step(session, "320703", row(PERSON, 1), item(), now=NOW)  # type: ignore[arg-type]
    (queued,) = session.of(OutboxRow)
    env = queued.envelope
    assert (queued.link, queued.type, env["type"], env["source"]) == (
        "320700", ENFORCEMENT_STEP, ENFORCEMENT_STEP, "320703")
    assert "sequence" not in env and "subject" not in env  # outside the per-case sequence
    check_envelope(env).check(env)
    data = env["data"]
    assert {k: data[k] for k in ("case_id", "department", "item_code", "category", "major",
                                 "step", "step_no", "stage", "override")} == {
        "case_id": "5f0c1e2a-8d3b-4c6e-9a7f-0b1c2d3e4f50", "department": "320703-SCJGJ",
        "item_code": "320703-SCJGJ-CF-001", "category": "penalty", "major": True,
        "step": "open", "step_no": 1, "stage": "opened", "override": False}


def test_a_province_has_nobody_to_report_to() -> None:
    session = Session()
    report_step(session, "320000", row(PERSON, 2), item(), now=NOW)  # type: ignore[arg-type]
    assert session.of(OutboxRow) == []


def test_the_records_keep_their_format_and_a_person_is_masked_everywhere() -> None:
    stored = row(PERSON, 6).records
    data = step_data(row(PERSON, 6), item(), NOW)
    sent = data["records"]
    assert [r["step"] for r in sent] == ["open", "investigate", "notify", "legal_review",
                                         "decide", "serve"]
    assert data["step_no"] == 6 and data["step"] == "serve"
    # The same keys, record by record: an aggregation reads them as it reads its own.
    assert [sorted(r) for r in sent] == [sorted(r) for r in stored]
    assert sent[0]["party"] == {"kind": "person", "name": "张某",
                                "id_number": "110105************", "address": "",
                                "legal_representative": ""}
    assert sent[4]["terms"]["facts"] == "张某（110105************）未取得食品经营许可经营食品"
    assert sent[4]["terms"]["amount_yuan"] == "70000.00" and sent[5]["recipient"] == "张某"
    text = json.dumps(sent, ensure_ascii=False)
    assert "张伟" not in text and "11010519491231002" not in text
    assert "连云港市海州区某路1号" not in text
    assert sent[1]["officers"] == ["32070300101", "32070300102"]  # officials are not masked
    assert stored[0]["party"]["name"] == "张伟"  # the site's own records are untouched


def test_a_company_is_sent_as_it_is() -> None:
    data = step_data(row(COMPANY, 5), item(), NOW)
    assert data["records"] == row(COMPANY, 5).records
    assert data["records"][0]["party"]["id_number"] == "91110000600037341L"


@pytest.mark.parametrize("field, value, pointer", [
    ("id_number", "11010519491231002X", "/records/0/party/id_number"),
    ("name", "张伟", "/records/0/party/name"),
    ("address", "连云港市海州区某路1号", "/records/0/party/address"),
])
def test_the_schema_refuses_a_person_sent_unmasked(field: str, value: str,
                                                   pointer: str) -> None:
    env = _step(1)
    env.data["records"][0]["party"][field] = value
    with pytest.raises(SchemaViolation) as caught:
        _check(env)
    assert caught.value.pointer == pointer


def test_the_schema_wants_the_opening_first_and_refuses_unknown_case_fields() -> None:
    env = _step(2)
    env.data["records"] = env.data["records"][1:]
    with pytest.raises(SchemaViolation, match="/records/0"):
        _check(env)
    smuggled = _step(1)
    smuggled.data["party_id_number"] = "11010519491231002X"
    with pytest.raises(SchemaViolation, match="Additional properties"):
        _check(smuggled)
    _check(_step(5, COMPANY))


def test_an_upgraded_city_applies_a_county_step_and_passes_it_up(
        keyring: Ring, private: Private) -> None:
    city = Inbound("320700", keyring("320700"), ("320703",))
    accepted = accept(city, seal(_step(), private("320703")), "up")
    assert accepted.route == Route(True, ("320000",)) and not accepted.spec.sequenced


def test_a_parent_without_the_type_dead_letters_it_and_applies_the_others(
        monkeypatch: pytest.MonkeyPatch, keyring: Ring, private: Private) -> None:
    older = {key: spec for key, spec in schemas._registry().items()
             if key[0] != ENFORCEMENT_STEP}
    monkeypatch.setattr(schemas, "_registry", lambda: older)  # a city not upgraded yet
    applied: list[str] = []

    def apply(session: Any, site: str, env: dict[str, Any]) -> Applied:
        applied.append(f"{env['type']}#{env.get('sequence', env['data'].get('change'))}")
        return "applied"

    handlers = Handlers()
    handlers.on(CASE_EVENT, apply)
    handlers.on(CASE_LIGHT, apply)
    city = Inbound("320700", keyring("320700"), ("320703",), handlers)
    county = private("320703")
    batch = [_step(1), case_envelope(seq=1), _step(2), _light(change=1), case_envelope(seq=2),
             _step(3)]
    session = Session()
    outcomes = [_one(session, city, seal(env, county), "sunlight.in.up", "up")  # type: ignore[arg-type]
                for env in batch]
    assert [(o.kind, o.reason) for o in outcomes] == [
        ("dead", "unknown_type"), ("applied", None), ("dead", "unknown_type"),
        ("applied", None), ("applied", None), ("dead", "unknown_type")]
    # Every other event was applied, in order: nothing waits behind the unknown type.
    assert applied == ["sunlight.case.event#1", "sunlight.case.light#1",
                       "sunlight.case.event#2"]
    dead = session.of(DeadLetter)
    assert [(d.reason, d.claimed_type, d.claimed_source, d.claimed_id) for d in dead] == [
        ("unknown_type", ENFORCEMENT_STEP, "320703", env.id)
        for env in (batch[0], batch[2], batch[5])]
    assert all(d.detail == "unknown event type sunlight.enforcement.step v1" for d in dead)
    assert all(d.body == seal(env, county) for d, env in zip(
        dead, (batch[0], batch[2], batch[5]), strict=True))
    # What was applied went on to the province; nothing of a dead-lettered step did.
    assert [(r.link, r.type) for r in session.of(OutboxRow)] == [
        ("320000", CASE_EVENT), ("320000", CASE_LIGHT), ("320000", CASE_EVENT)]


def test_the_module_examples_run() -> None:
    result = doctest.testmod(enforcement_exchange, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
