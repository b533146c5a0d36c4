"""The enforcement case: the whole procedure, and every refusal with its status and reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from sunlight.catalogue.model import ItemStatus
from sunlight.enforcement.errors import (
    EnforcementError,
    IllegalStep,
    InvalidRecord,
    OutOfBand,
    UnqualifiedOfficer,
    WrongStepRole,
)
from sunlight.enforcement.flow import (
    APPROVER,
    LEGAL_REVIEWER,
    OFFICER,
    STEP_ROLES,
    Actor,
    Evidence,
    Execution,
    Investigation,
    Notice,
    Opening,
    Service,
    Stage,
    Step,
    advance,
    allowed_steps,
    decision_window_opens,
    legal_review_required,
    open_case,
    replay,
)
from tests.enforcement.builders import (
    CHEN,
    HEAD,
    INSPECTION,
    LICENCE,
    LIU,
    MAJOR,
    OLD,
    OPENED,
    ORDINARY,
    OTHER_DEPT,
    PRICE_BASIS,
    REVIEWER,
    SUN,
    WANG,
    ZHAO,
    by,
    closing,
    d,
    decision,
    execution,
    investigation,
    item,
    notice,
    opening,
    registry,
    review,
    run_until,
    service,
    standard_records,
    terms,
)


def _refused(kind: type[EnforcementError], stage: Stage, record: object, code: str = MAJOR,
             case: object = None) -> EnforcementError:
    reg = registry()
    current = case or run_until(stage, code, reg)
    with pytest.raises(kind) as caught:
        advance(current, item(code), record, reg)  # type: ignore[arg-type]
    return caught.value


# -- the whole procedure ------------------------------------------------------------------


def test_a_major_penalty_runs_from_opening_to_closing() -> None:
    reg, the_item = registry(), item(MAJOR)
    first, *rest = standard_records(MAJOR)
    assert isinstance(first, Opening)
    case = open_case(the_item, first, reg)
    seen = [(case.status, allowed_steps(case, the_item))]
    for record in rest:
        case = advance(case, the_item, record, reg)
        seen.append((case.status, allowed_steps(case, the_item)))
    assert [(status.value, [(s.value, r) for s, r in steps]) for status, steps in seen] == [
        ("opened", [("investigate", OFFICER)]),
        ("investigated", [("investigate", OFFICER), ("notify", OFFICER)]),
        ("notified", [("legal_review", LEGAL_REVIEWER)]),  # major: no decision without it
        ("reviewed", [("decide", APPROVER)]),
        ("decided", [("serve", OFFICER)]),
        ("served", [("execute", OFFICER)]),
        ("executed", [("close", OFFICER)]),
        ("closed", []),
    ]
    assert [r.step for r in case.history] == list(Step)
    assert case.officers == (WANG, CHEN)
    assert case.band is not None and case.band.inside and not case.overridden
    assert case.band.band == "一般 (general): 60000.00–80000.00 元"
    assert case.decision is not None and case.decision.terms.amount_yuan == Decimal("70000.00")
    assert case.execution is not None and case.execution.paid_yuan == Decimal("70000.00")
    assert case.investigations[0].evidence[1].kind == "documentary"  # 书证, by Chinese name


def test_replay_rebuilds_the_same_case() -> None:
    case = run_until(Stage.closed)
    assert replay(item(MAJOR), case.history, registry()) == case


def test_replay_starts_with_an_opening() -> None:
    with pytest.raises(IllegalStep, match="starts with its opening"):
        replay(item(MAJOR), [investigation()], registry())


def test_an_ordinary_penalty_may_skip_legal_review() -> None:
    case = run_until(Stage.notified, ORDINARY)
    assert legal_review_required(case, item(ORDINARY)) is None
    assert [s for s, _ in allowed_steps(case, item(ORDINARY))] == [Step.legal_review,
                                                                    Step.decide]
    assert run_until(Stage.closed, ORDINARY).review is None


def test_an_ordinary_penalty_may_still_have_legal_review() -> None:
    reg, the_item = registry(), item(ORDINARY)
    case = run_until(Stage.notified, ORDINARY, reg)
    case = advance(case, the_item, review(), reg)
    small = terms("2000", basis=PRICE_BASIS, facts="当事人未按规定明码标价")
    case = advance(case, the_item, decision(decided=small), reg)
    assert case.status is Stage.decided and case.review is not None


def test_an_inspection_decides_without_violation_or_amount() -> None:
    reg, the_item = registry(), item(INSPECTION)
    found = terms(None, None, None, basis="《中华人民共和国食品安全法》第一百一十条",
                  facts="现场检查发现过期食品，责令改正")
    records = [opening(), investigation(), notice(intended=found), decision(decided=found),
               service(), execution(paid=None), closing()]
    case = replay(the_item, records, reg)
    assert case.status is Stage.closed and case.band is None


def test_an_inspection_has_no_discretion_band() -> None:
    reg, the_item = registry(), item(INSPECTION)
    case = run_until(Stage.investigated, INSPECTION, reg)
    with pytest.raises(InvalidRecord) as caught:
        advance(case, the_item, notice(), reg)
    assert caught.value.field == "intended.violation"
    assert "only penalty items have discretion standards" in caught.value.reason


def test_the_roles_of_the_steps() -> None:
    assert {step: role for step, role in STEP_ROLES.items() if role != OFFICER} == {
        Step.legal_review: LEGAL_REVIEWER, Step.decide: APPROVER}


# -- wrong order --------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "record", "allowed"), [
    (Stage.opened, notice(), "allowed: investigate (officer)"),
    (Stage.investigated, decision(), "allowed: investigate (officer), notify (officer)"),
    (Stage.notified, service(), "allowed: legal_review (legal_reviewer)"),
    (Stage.reviewed, review(), "allowed: decide (approver)"),
    (Stage.decided, closing(), "allowed: serve (officer)"),
    (Stage.served, closing(), "allowed: execute (officer)"),
    (Stage.closed, execution(), "the case is closed; no step is allowed"),
])
def test_wrong_order_is_refused_with_what_is_allowed(stage: Stage, record: object,
                                                     allowed: str) -> None:
    err = _refused(IllegalStep, stage, record)
    assert err.http_status == 409 and err.code == "illegal_transition"
    assert err.status == stage.value and allowed in err.reason
    assert err.reason.startswith("cannot ")


def test_a_case_is_opened_once() -> None:
    err = _refused(IllegalStep, Stage.investigated, opening())
    assert "already open" in err.reason


def test_a_step_of_another_item_version_is_refused() -> None:
    reg = registry()
    case = run_until(Stage.opened, MAJOR, reg)
    with pytest.raises(IllegalStep, match="runs under item 320703-SCJGJ-CF-001 version 1"):
        advance(case, item(ORDINARY), investigation(), reg)


# -- skipped mandatory legal review -------------------------------------------------------


def test_a_major_decision_without_legal_review_is_refused() -> None:
    err = _refused(IllegalStep, Stage.notified, decision())
    assert err.http_status == 409 and err.step == "decide"
    assert "legal review (法制审核) is mandatory" in err.reason
    assert "marks its decisions as major (重大执法决定)" in err.reason


def test_a_wrong_role_on_a_major_case_still_hears_of_the_missing_review() -> None:
    err = _refused(IllegalStep, Stage.notified, decision(actor=by()))
    assert "mandatory" in err.reason


def test_an_out_of_band_notice_makes_legal_review_mandatory() -> None:
    reg, the_item = registry(), item(ORDINARY)
    case = run_until(Stage.investigated, ORDINARY, reg)
    lighter = terms("800", severity="general", basis=PRICE_BASIS)  # general is 1000–3000
    case = advance(case, the_item, notice(intended=lighter), reg)
    why = legal_review_required(case, the_item)
    assert why == "the notified amount 800.00 元 lies outside the band 一般 (general): " \
                  "1000.00–3000.00 元"
    assert [s for s, _ in allowed_steps(case, the_item)] == [Step.legal_review]
    with pytest.raises(IllegalStep, match="mandatory before this decision: the notified amount"):
        advance(case, the_item, decision(decided=lighter), reg)


# -- wrong role and separation of duties ---------------------------------------------------


@pytest.mark.parametrize(("stage", "record", "expected"), [
    (Stage.opened, investigation(actor=Actor("clerk.a", "clerk", WANG)), OFFICER),
    (Stage.investigated, notice(actor=Actor("xu.fa", LEGAL_REVIEWER)), OFFICER),
    (Stage.notified, review(actor=by(WANG)), LEGAL_REVIEWER),
    (Stage.reviewed, decision(actor=REVIEWER), APPROVER),
    (Stage.decided, service(actor=HEAD), OFFICER),
])
def test_wrong_role_is_403(stage: Stage, record: object, expected: str) -> None:
    err = _refused(WrongStepRole, stage, record)
    assert err.http_status == 403 and err.code == "wrong_role"
    assert f"is for role {expected}, not" in err.reason


def test_opening_by_a_non_officer_is_refused() -> None:
    with pytest.raises(WrongStepRole, match=r"立案\) is for role officer, not approver"):
        open_case(item(MAJOR), opening(actor=HEAD), registry())


def test_the_legal_reviewer_has_not_acted_as_an_officer() -> None:
    err = _refused(WrongStepRole, Stage.notified,
                   review(actor=Actor("wang.qiang", LEGAL_REVIEWER)))
    assert "acted on this case as an officer" in err.reason and "岗位分离" in err.reason


def test_the_approver_is_not_the_legal_reviewer() -> None:
    err = _refused(WrongStepRole, Stage.reviewed, decision(actor=Actor("xu.fa", APPROVER)))
    assert "made the legal review" in err.reason


# -- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "record"), [
    (Stage.opened, investigation(on=d(3, 1))),
    (Stage.investigated, notice(on=d(2, 27))),
    (Stage.decided, service(on=date(2025, 12, 31))),
])
def test_a_step_dated_before_opening_is_refused(stage: Stage, record: object) -> None:
    err = _refused(IllegalStep, stage, record)
    assert err.field == "on"
    assert f"before the case was opened (立案) on {OPENED}" in err.reason


def test_a_step_dated_before_the_previous_step_is_refused() -> None:
    err = _refused(IllegalStep, Stage.notified, review(on=d(3, 4)))
    assert err.field == "on" and "before the previous step (告知 on 2026-03-05)" in err.reason


def test_a_timestamp_is_not_a_date() -> None:
    err = _refused(InvalidRecord, Stage.opened,
                   replace(investigation(), on=datetime(2026, 3, 4, 9, 0)))
    assert err.field == "on" and err.http_status == 422


def test_the_decision_waits_for_the_end_of_the_waiting_period() -> None:
    # Notified Thursday 5 March, 5 working days: 6, 9, 10, 11, 12 March.
    case = run_until(Stage.reviewed)
    assert case.notice is not None and decision_window_opens(case.notice) == d(3, 13)
    err = _refused(IllegalStep, Stage.reviewed, decision(on=d(3, 12)))
    assert err.field == "on"
    assert "inside the waiting period after the notice (告知) of 2026-03-05" in err.reason
    assert "5 working days for the party to state a defence or ask for a hearing" in err.reason
    assert "may be taken from 2026-03-13" in err.reason
    reg = registry()
    decided = advance(run_until(Stage.reviewed, reg=reg), item(MAJOR), decision(on=d(3, 13)),
                      reg)
    assert decided.status is Stage.decided


def test_the_waiting_period_counts_working_days_over_a_holiday() -> None:
    # Notified Wednesday 29 April, 3 working days: 30 April, then 劳动节 to 5 May, 6, 7 May.
    reg, the_item = registry(), item(ORDINARY)
    small = terms("2000", basis=PRICE_BASIS)
    case = run_until(Stage.investigated, ORDINARY, reg)
    case = advance(case, the_item, notice(on=d(4, 29), intended=small, waiting_days=3), reg)
    assert case.notice is not None and decision_window_opens(case.notice) == d(5, 8)
    with pytest.raises(IllegalStep, match="may be taken from 2026-05-08"):
        advance(case, the_item, decision(on=d(5, 7), decided=small), reg)
    assert advance(case, the_item, decision(on=d(5, 8), decided=small), reg).status \
        is Stage.decided


@pytest.mark.parametrize("days", [0, 61, True, 2.5])
def test_the_waiting_period_is_whole_working_days(days: object) -> None:
    err = _refused(InvalidRecord, Stage.investigated, notice(waiting_days=days))  # type: ignore[arg-type]
    assert err.field == "waiting_days"


# -- officers -----------------------------------------------------------------------------


@pytest.mark.parametrize("officers", [(WANG,), (WANG, WANG), (WANG, "３２０７０３００１０１")])
def test_only_one_officer_is_refused(officers: tuple[str, ...]) -> None:
    err = _refused(InvalidRecord, Stage.opened, investigation(officers=officers))
    assert err.field == "officers" and err.http_status == 422
    assert "at least 2 enforcement officers" in err.reason and "got 1" in err.reason


@pytest.mark.parametrize(("officers", "why", "words"), [
    ((WANG, "32070399999"), "unknown", "not in the officer registry (执法人员库)"),
    ((WANG, OLD), None, None),  # valid until 2026-03-20: fine on 4 March
    ((WANG, SUN), "not_yet_valid", "is valid from 2026-04-01, not yet on 2026-03-04"),
    ((WANG, ZHAO), "out_of_area", "is an officer of 320703-GAFJ; item 320703-SCJGJ-CF-001 "
                                  "belongs to 320703-SCJGJ"),
    ((WANG, LIU), "out_of_area", "may enforce items 320703-SCJGJ-CF-002; not item "
                                 "320703-SCJGJ-CF-001 (行政处罚)"),
])
def test_every_named_officer_is_qualified(officers: tuple[str, ...], why: str | None,
                                          words: str | None) -> None:
    reg = registry()
    case = run_until(Stage.opened, MAJOR, reg)
    record = investigation(officers=officers)
    if why is None:
        assert advance(case, item(MAJOR), record, reg).officers == officers
        return
    with pytest.raises(UnqualifiedOfficer) as caught:
        advance(case, item(MAJOR), record, reg)
    err = caught.value
    assert (err.why, err.field, err.http_status, err.code) == (
        why, "officers[1]", 403, "unqualified_officer")
    assert words is not None and words in err.reason


def test_an_officer_whose_certificate_expired_cannot_act() -> None:
    reg = registry()
    case = run_until(Stage.decided, MAJOR, reg)
    with pytest.raises(UnqualifiedOfficer) as caught:
        advance(case, item(MAJOR), service(d(3, 23), by(OLD)), reg)  # ended 20 March
    assert caught.value.why == "expired" and caught.value.field == "by.certificate"
    assert "certificate 32070300109 (周建) expired on 2026-03-20" in caught.value.reason


def test_an_acting_officer_gives_a_certificate() -> None:
    with pytest.raises(UnqualifiedOfficer) as caught:
        open_case(item(MAJOR), opening(actor=Actor("wang.qiang", OFFICER)), registry())
    assert caught.value.why == "missing" and "执法证号" in caught.value.reason


def test_an_officer_out_of_area_cannot_open() -> None:
    with pytest.raises(UnqualifiedOfficer) as caught:
        open_case(item(OTHER_DEPT), opening(), registry())
    assert caught.value.why == "out_of_area"


# -- opening ------------------------------------------------------------------------------


def test_a_licence_is_not_opened_by_staff() -> None:
    with pytest.raises(IllegalStep, match=r"item 320703-SCJGJ-XK-002 is 行政许可 \(licence\)"):
        open_case(item(LICENCE), opening(), registry())


def test_a_case_opens_under_the_version_in_force() -> None:
    draft = item(MAJOR).model_copy(update={"status": ItemStatus.DRAFT, "version": 2})
    with pytest.raises(IllegalStep, match="version 2 is draft"):
        open_case(draft, opening(), registry())


@pytest.mark.parametrize(("field", "change"), [
    ("source", {"source": "路上看到"}),
    ("summary", {"summary": "  "}),
    ("on", {"on": "2026-03-02"}),
])
def test_an_opening_with_bad_content_is_refused(field: str, change: dict[str, object]) -> None:
    with pytest.raises(InvalidRecord) as caught:
        open_case(item(MAJOR), replace(opening(), **change), registry())  # type: ignore[arg-type]
    assert caught.value.field == field


# -- investigation content ----------------------------------------------------------------


@pytest.mark.parametrize(("evidence", "field"), [
    ((), "evidence"),
    ((Evidence("rumour", "传闻"),), "evidence[0].kind"),
    ((Evidence("record", " "),), "evidence[0].title"),
    ((Evidence("record", "笔录", "ABC"),), "evidence[0].sha256"),
])
def test_evidence_is_recorded_properly(evidence: tuple[Evidence, ...], field: str) -> None:
    err = _refused(InvalidRecord, Stage.opened, replace(investigation(), evidence=evidence))
    assert err.field == field


def test_a_supplementary_investigation_replaces_the_officers() -> None:
    reg = registry()
    case = run_until(Stage.investigated, MAJOR, reg)
    more = Investigation(d(3, 5), by(CHEN), (CHEN, WANG), (Evidence("witness", "证人证言"),),
                         "补充调查")
    case = advance(case, item(MAJOR), more, reg)
    assert case.status is Stage.investigated and len(case.investigations) == 2
    assert case.officers == (CHEN, WANG)


# -- the decision: terms, band, override ----------------------------------------------------


def test_a_decision_outside_the_band_is_refused_naming_the_band() -> None:
    reg, the_item = registry(), item(ORDINARY)
    small = terms("2000", basis=PRICE_BASIS)
    case = run_until(Stage.notified, ORDINARY, reg)
    with pytest.raises(OutOfBand) as caught:
        advance(case, the_item, decision(decided=replace(small, severity="minor")), reg)
    err = caught.value
    assert err.band == "轻微 (minor): 0.00–1000.00 元" and err.field == "terms.amount_yuan"
    assert "amount 2000.00 元 is above the band of violation V01" in err.reason
    assert (err.http_status, err.code, err.step) == (409, "out_of_band", "decide")


def test_a_decision_heavier_than_notified_is_refused() -> None:
    err = _refused(IllegalStep, Stage.reviewed, decision(decided=terms("75000")))
    assert err.field == "terms.amount_yuan"
    assert "heavier than the 70000.00 元 notified" in err.reason


def test_a_decision_for_another_violation_is_refused() -> None:
    err = _refused(IllegalStep, Stage.reviewed, decision(decided=terms(violation="V02")))
    assert err.field == "terms.violation" and "notify the party again" in err.reason


def test_a_lighter_decision_inside_the_band_is_allowed() -> None:
    reg = registry()
    case = advance(run_until(Stage.reviewed, reg=reg), item(MAJOR),
                   decision(decided=terms("60000")), reg)
    assert case.band is not None and case.band.inside and case.band.amount == Decimal("60000.00")


@pytest.mark.parametrize(("amount", "reason"), [
    ("-1", "negative"), ("abc", "not a number"), ("65000.005", "more than two decimals"),
    ("1e4", "not a number"),
])
def test_bad_amounts_are_refused_with_the_field(amount: str, reason: str) -> None:
    bad = replace(terms(), amount_yuan=amount)  # type: ignore[arg-type]
    err = _refused(InvalidRecord, Stage.reviewed, decision(decided=bad))
    assert err.field == "terms.amount_yuan" and err.reason.startswith(reason)
    err = _refused(InvalidRecord, Stage.investigated, notice(intended=bad))
    assert err.field == "intended.amount_yuan"


@pytest.mark.parametrize(("change", "field"), [
    ({"violation": None}, "intended.violation"),
    ({"severity": "grave"}, "intended.severity"),
    ({"violation": "V09"}, "intended.violation"),
    ({"legal_basis": ""}, "intended.legal_basis"),
    ({"facts": " "}, "intended.facts"),
])
def test_notified_terms_are_complete(change: dict[str, object], field: str) -> None:
    err = _refused(InvalidRecord, Stage.investigated,
                   notice(intended=replace(terms(), **change)))  # type: ignore[arg-type]
    assert err.field == field


MITIGATED = terms("45000", severity="minor")  # minor is 50000–60000: 减轻处罚 below it
WHY = "当事人主动消除违法行为危害后果，依法减轻处罚（《行政处罚法》第三十二条）"


def _mitigated(reg: object, override: str | None = WHY) -> object:
    case = run_until(Stage.investigated, MAJOR, reg)  # type: ignore[arg-type]
    case = advance(case, item(MAJOR), notice(intended=MITIGATED), reg)  # type: ignore[arg-type]
    return advance(case, item(MAJOR), review(override=override), reg)  # type: ignore[arg-type]


def test_an_override_by_legal_review_lets_the_amount_stand_outside_the_band() -> None:
    reg = registry()
    case = advance(_mitigated(reg), item(MAJOR), decision(decided=MITIGATED), reg)  # type: ignore[arg-type]
    assert case.overridden and case.band is not None
    assert (case.band.inside, case.band.override, case.band.justification) == (False, True, WHY)


def test_an_override_covers_only_the_amount_reviewed() -> None:
    reg = registry()
    with pytest.raises(OutOfBand) as caught:
        advance(_mitigated(reg), item(MAJOR),  # type: ignore[arg-type]
                decision(decided=replace(MITIGATED, amount_yuan=Decimal("40000"))), reg)
    assert "approved an override for 45000.00 元 at minor only" in caught.value.reason


def test_passing_an_out_of_band_notice_needs_an_override() -> None:
    reg = registry()
    with pytest.raises(OutOfBand) as caught:
        _mitigated(reg, override=None)
    assert caught.value.field == "override" and "pass it with an override, or return it" \
        in caught.value.reason


@pytest.mark.parametrize(("intended", "override", "outcome", "words"), [
    (MITIGATED, "减轻", "pass", "at least 10 characters"),
    (terms(), WHY, "pass", "nothing to override: the notified amount is inside its band"),
    (MITIGATED, WHY, "return", "a returned case overrides nothing"),
])
def test_a_bad_override_is_refused(intended: object, override: str, outcome: str,
                                   words: str) -> None:
    reg = registry()
    case = run_until(Stage.investigated, MAJOR, reg)
    case = advance(case, item(MAJOR), notice(intended=intended), reg)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord) as caught:
        advance(case, item(MAJOR), review(override=override, outcome=outcome), reg)
    assert caught.value.field == "override" and words in caught.value.reason


def test_a_returned_review_sends_the_case_back_for_a_new_notice() -> None:
    reg, the_item = registry(), item(MAJOR)
    case = run_until(Stage.notified, MAJOR, reg)
    case = advance(case, the_item, review(outcome="return"), reg)
    assert (case.status, case.notice, case.review) == (Stage.investigated, None, None)
    case = advance(case, the_item, notice(on=d(3, 10)), reg)
    case = advance(case, the_item, review(on=d(3, 11)), reg)
    case = advance(case, the_item, decision(on=d(3, 18)), reg)
    assert case.status is Stage.decided
    assert [r.step.value for r in case.history].count("legal_review") == 2


# -- service, execution, closing ------------------------------------------------------------


def test_service_execution_and_closing_content() -> None:
    err = _refused(InvalidRecord, Stage.decided, replace(service(), method="by pigeon"))
    assert err.field == "method"
    err = _refused(InvalidRecord, Stage.served, execution(paid="70000.01"))
    assert err.field == "paid_yuan" and "more than the 70000.00 元 decided" in err.reason
    err = _refused(InvalidRecord, Stage.served, replace(execution(), manner="forgotten"))
    assert err.field == "manner"
    err = _refused(InvalidRecord, Stage.executed, replace(closing(), summary=""))
    assert err.field == "summary"


def test_a_refusal_keeps_nothing() -> None:
    reg = registry()
    case = run_until(Stage.notified, MAJOR, reg)
    before = (case.status, case.history)
    with pytest.raises(IllegalStep):
        advance(case, item(MAJOR), decision(), reg)
    assert (case.status, case.history) == before


def test_every_refusal_is_an_enforcement_error_and_a_value_error() -> None:
    for kind in (IllegalStep, OutOfBand, WrongStepRole, UnqualifiedOfficer, InvalidRecord):
        assert issubclass(kind, EnforcementError) and issubclass(kind, ValueError)
    assert {k.http_status for k in (IllegalStep, OutOfBand)} == {409}
    assert {k.http_status for k in (WrongStepRole, UnqualifiedOfficer)} == {403}
    assert InvalidRecord.http_status == 422


def test_records_are_plain_values() -> None:
    record = Service(d(3, 16), by(), "post")
    assert record.step is Step.serve and Notice.step is Step.notify
    assert Execution.step is Step.execute
