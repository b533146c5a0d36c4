"""Legal supervision up the tiers: refused attempts (``sunlight.enforcement.refusal``) and
行政复议/行政诉讼 (``sunlight.enforcement.challenge``) travel to every ancestor, de-identified,
kept once (refusals) or in their latest state (challenges); the view of a city or province
counts a subordinate's cases, refusals and challenges under the subordinate's site
(no database: statements are compiled for PostgreSQL and inspected)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from sunlight.enforcement import oversight
from sunlight.runtime.core import legal_supervision
from sunlight.runtime.core.cross_tier import register
from sunlight.runtime.core.enforcement_exchange import (
    SubordinateEnforcement,
    SubordinateEnforcementChallenge,
    SubordinateEnforcementRefusal,
    challenge_data,
    receive_challenge,
    receive_refusal,
    refusal_data,
    report_challenge,
    report_refusal,
    step_data,
)
from sunlight.runtime.core.legal_supervision_models import (
    EnforcementChallenge,
    EnforcementRefusal,
)
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Handlers
from sunlight.runtime.exchange.inbound import Inbound, accept
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.exchange.schemas import (
    ENFORCEMENT_CHALLENGE,
    ENFORCEMENT_REFUSAL,
    check_envelope,
    event_type,
)
from sunlight.runtime.exchange.signing import Keyring, seal
from sunlight.runtime.exchange.topology import Route
from tests.exchange.enforcement_case import COMPANY, NOW, PERSON, Session, item, row

Private = Callable[[str], Any]
Ring = Callable[[str], Keyring]
CASE = uuid.UUID("5f0c1e2a-8d3b-4c6e-9a7f-0b1c2d3e4f50")
CHALLENGE = uuid.UUID("0d6b7a52-3f0e-4c1b-9a55-6a1f2e3d4c5b")


def _refusal(**changes: Any) -> EnforcementRefusal:
    values: dict[str, Any] = {
        "id": 42, "site": "320703", "department": "320703-SCJGJ",
        "item_code": "320703-SCJGJ-CF-001", "case_id": CASE, "code": "out_of_band",
        "step": "decide", "field": "terms.amount_yuan",
        "reason": "张伟的罚款 900000.00 超出裁量基准", "month": "2026-04",
        "refused_on": date(2026, 4, 1), "actor": "li.ju", "refused_at": NOW}
    return EnforcementRefusal(**{**values, **changes})


def _challenge(**changes: Any) -> EnforcementChallenge:
    values: dict[str, Any] = {
        "id": CHALLENGE, "case_id": CASE, "site": "320703", "department": "320703-SCJGJ",
        "kind": "reconsideration", "filed_on": date(2026, 4, 10),
        "body": "连云港市海州区人民政府（申请人张伟）", "filed_by": "lg.fa", "outcome": None,
        "decided_on": None, "decided_by": None, "created_at": NOW, "updated_at": NOW}
    return EnforcementChallenge(**{**values, **changes})


def _checked(env: dict[str, Any]) -> None:
    check_envelope(env).check(env)


# -- the events -------------------------------------------------------------------------


@pytest.mark.parametrize("type_", [ENFORCEMENT_REFUSAL, ENFORCEMENT_CHALLENGE])
def test_both_types_go_up_unsequenced_to_every_ancestor(type_: str) -> None:
    spec = event_type(type_, 1)
    assert (spec.direction, spec.sequenced, spec.addressing) == ("up", False, "none")


def test_both_types_have_a_handler() -> None:
    handlers = register(Handlers())
    assert handlers.missing() == []
    assert handlers.handler(ENFORCEMENT_REFUSAL).apply is receive_refusal
    assert handlers.handler(ENFORCEMENT_CHALLENGE).apply is receive_challenge


def test_a_county_refusal_goes_to_the_city_without_reason_or_party() -> None:
    session = Session()
    report_refusal(session, "320703", _refusal(), now=NOW)  # type: ignore[arg-type]
    (queued,) = session.of(OutboxRow)
    env = queued.envelope
    assert (queued.link, env["type"], env["source"]) == ("320700", ENFORCEMENT_REFUSAL,
                                                         "320703")
    assert "sequence" not in env and "subject" not in env
    _checked(env)
    assert env["data"] == {
        "refusal_id": 42, "department": "320703-SCJGJ", "item_code": "320703-SCJGJ-CF-001",
        "case_id": str(CASE), "code": "out_of_band", "step": "decide", "month": "2026-04",
        "refused_on": "2026-04-01", "actor": "li.ju", "at": NOW.isoformat()}
    assert "张伟" not in json.dumps(env, ensure_ascii=False)


def test_a_refused_opening_has_no_case_and_a_province_reports_to_nobody() -> None:
    data = refusal_data(_refusal(case_id=None, code="unqualified_officer", step="open"))
    assert data["case_id"] is None
    _checked(Envelope.new("320703", ENFORCEMENT_REFUSAL, data).to_dict())
    session = Session()
    report_refusal(session, "320000", _refusal(site="320000"), now=NOW)  # type: ignore[arg-type]
    report_challenge(session, "320000", _challenge(site="320000"), row(PERSON),  # type: ignore[arg-type]
                     now=NOW)
    assert session.of(OutboxRow) == []


def test_a_challenge_goes_up_filed_then_decided_with_a_person_masked() -> None:
    session = Session()
    report_challenge(session, "320703", _challenge(), row(PERSON), now=NOW)  # type: ignore[arg-type]
    decided = _challenge(outcome="upheld", decided_on=date(2026, 5, 20), decided_by="lg.fa")
    report_challenge(session, "320703", decided, row(PERSON), now=NOW)  # type: ignore[arg-type]
    filed_env, decided_env = (q.envelope for q in session.of(OutboxRow))
    for env in (filed_env, decided_env):
        _checked(env)
        assert env["type"] == ENFORCEMENT_CHALLENGE and "sequence" not in env
        text = json.dumps(env, ensure_ascii=False)
        assert "张伟" not in text
    assert filed_env["data"]["body"] == "连云港市海州区人民政府（申请人张某）"
    assert (filed_env["data"]["outcome"], filed_env["data"]["decided_on"]) == (None, None)
    assert (decided_env["data"]["outcome"], decided_env["data"]["decided_on"],
            decided_env["data"]["decided_by"]) == ("upheld", "2026-05-20", "lg.fa")


def test_a_company_party_is_kept_in_the_body() -> None:
    body = "连云港市人民政府（申请人连云港某某食品有限公司）"
    assert challenge_data(_challenge(body=body), row(COMPANY))["body"] == body


@pytest.mark.parametrize("type_, data", [
    (ENFORCEMENT_REFUSAL, lambda: refusal_data(_refusal())),
    (ENFORCEMENT_CHALLENGE, lambda: challenge_data(_challenge(), row(PERSON))),
])
def test_an_upgraded_city_applies_them_and_passes_them_up(
        type_: str, data: Callable[[], dict[str, Any]], keyring: Ring,
        private: Private) -> None:
    city = Inbound("320700", keyring("320700"), ("320703",))
    body = seal(Envelope.new("320703", type_, data()), private("320703"))
    accepted = accept(city, body, "up")
    assert accepted.route == Route(True, ("320000",)) and not accepted.spec.sequenced


# -- at the parent: idempotent -------------------------------------------------------------


class _Capture:
    """A session that records the statement and answers ``returning`` with ``returned``."""

    def __init__(self, returned: Any) -> None:
        self.returned, self.statements = returned, []

    def execute(self, stmt: Any) -> Any:
        self.statements.append(stmt)
        returned = self.returned

        class Result:
            def first(self) -> Any:
                return returned
        return Result()

    def sql(self) -> str:
        (stmt,) = self.statements
        return str(stmt.compile(dialect=postgresql.dialect()))


def _env(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return Envelope.new("320703", type_, data).to_dict()


def test_a_refusal_is_kept_once() -> None:
    env = _env(ENFORCEMENT_REFUSAL, refusal_data(_refusal()))
    first, again = _Capture((42,)), _Capture(None)
    assert receive_refusal(first, "320700", env) == "applied"  # type: ignore[arg-type]
    assert receive_refusal(again, "320700", env) == "stale"  # type: ignore[arg-type]
    sql = first.sql()
    assert "INSERT INTO subordinate_enforcement_refusals" in sql
    assert "ON CONFLICT (source, refusal_id) DO NOTHING" in sql
    params = first.statements[0].compile(dialect=postgresql.dialect()).params
    assert (params["source"], params["refusal_id"], params["case_id"]) == ("320703", 42, CASE)


def test_a_challenge_keeps_its_latest_state_decided_over_pending() -> None:
    decided = _challenge(outcome="changed", decided_on=date(2026, 5, 20), decided_by="lg.fa")
    env = _env(ENFORCEMENT_CHALLENGE, challenge_data(decided, row(PERSON)))
    applied, stale = _Capture((CHALLENGE,)), _Capture(None)
    assert receive_challenge(applied, "320700", env) == "applied"  # type: ignore[arg-type]
    assert receive_challenge(stale, "320700", env) == "stale"  # type: ignore[arg-type]
    sql = applied.sql()
    assert "ON CONFLICT (source, challenge_id) DO UPDATE SET" in sql
    # Only a pending stored state is replaced, and only by a decided one: a redelivery or a
    # filing overtaken by its outcome changes nothing.
    where = sql.split("WHERE", 1)[1]
    assert "subordinate_enforcement_challenges.outcome IS NULL" in where
    assert "excluded.outcome IS NOT NULL" in where
    params = applied.statements[0].compile(dialect=postgresql.dialect()).params
    assert (params["outcome"], params["decided_on"], params["body"]) == (
        "changed", date(2026, 5, 20), "连云港市海州区人民政府（申请人张某）")


# -- the view at a parent: under the origin site --------------------------------------------


def _copy(records: list[dict[str, Any]], site: str = "320703") -> SubordinateEnforcement:
    return SubordinateEnforcement(site, "320703-SCJGJ", "320703-SCJGJ-CF-001", True,
                                  records, str(CASE), "penalty")


def _sent(steps: int = 5) -> list[dict[str, Any]]:
    """The records as a parent stores them: what the step event carried."""
    records: list[dict[str, Any]] = step_data(row(PERSON, steps), item(), NOW)["records"]
    return records


def test_a_subordinate_case_is_read_without_its_masked_opening() -> None:
    case = legal_supervision.subordinate_case(_copy(_sent(6)))
    assert (case.site, case.department, case.case_id, case.major) == (
        "320703", "320703-SCJGJ", str(CASE), True)
    assert [type(r).__name__ for r in case.records] == ["Notice", "LegalReview", "Decision"]


def test_a_county_decision_override_and_missing_review_count_at_the_parent() -> None:
    reviewed = _sent(5)
    overridden = copy.deepcopy(reviewed)
    overridden[3]["override"] = "当事人主动消除危害后果，依法减轻处罚"
    unreviewed = [r for r in copy.deepcopy(reviewed) if r["step"] != "legal_review"]
    copies = [legal_supervision.subordinate_case(_copy(records, site)) for records, site in
              ((overridden, "320703"), (unreviewed, "320706"))]
    own = oversight.CaseCopy("320700", "320700-SCJGJ", "own-1", "320700-SCJGJ-CF-001",
                             False, copies[0].records)
    figures = oversight.aggregate([own, *copies], [], [], month="2026-03")
    by_site = {(f.site, f.department): f for f in figures}
    assert sorted(by_site) == [("320700", "320700-SCJGJ"), ("320703", "320703-SCJGJ"),
                               ("320706", "320703-SCJGJ")]
    county = by_site[("320703", "320703-SCJGJ")]
    assert (county.decisions, county.overrides, county.missing_legal_review) == (1, 1, 0)
    (entry,) = county.override_entries
    assert (entry.site, entry.case_id, entry.reviewer) == ("320703", str(CASE), "li")
    other = by_site[("320706", "320703-SCJGJ")]
    assert (other.decisions, other.overrides, other.missing_legal_review) == (1, 0, 1)


def test_a_subordinate_refusal_and_challenge_count_under_its_site() -> None:
    refusal = SubordinateEnforcementRefusal(
        source="320703", refusal_id=42, department="320703-SCJGJ",
        item_code="320703-SCJGJ-CF-001", case_id=CASE, code="unqualified_officer",
        step="investigate", month="2026-04", refused_on=date(2026, 4, 1), actor="zhou.jian",
        at=NOW)
    challenge = SubordinateEnforcementChallenge(
        source="320703", challenge_id=CHALLENGE, case_id=CASE, department="320703-SCJGJ",
        kind="litigation", filed_on=date(2026, 4, 10), body="连云港市海州区人民法院",
        filed_by="lg.fa", outcome="revoked", decided_on=date(2026, 4, 28),
        decided_by="lg.fa", at=datetime(2026, 4, 28, tzinfo=UTC))
    own = oversight.Refusal("320700", "320700-SCJGJ", "320700-SCJGJ-CF-001", None,
                            "out_of_band", "open", "2026-04", "sun.li")
    figures = oversight.aggregate(
        [], [own, legal_supervision.subordinate_refusal(refusal)],
        [legal_supervision.subordinate_challenge(challenge)], month="2026-04")
    mine, county = figures
    assert (mine.site, mine.refused_out_of_band, mine.refused_unqualified) == ("320700", 1, 0)
    assert (county.site, county.department, county.refused_unqualified) == (
        "320703", "320703-SCJGJ", 1)
    assert (county.filed, county.outcomes) == ({"litigation": 1},
                                               {"litigation": {"revoked": 1}})
