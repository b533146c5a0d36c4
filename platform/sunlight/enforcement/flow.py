"""The enforcement case (执法办案): its fixed procedure, who acts at each step, and the checks.

Items of the penalty, coercion, levy and inspection categories are not applied for: an
officer opens the case (立案) and it runs through one procedure, whatever the item's flow
for licences says::

    立案 open [officer] ──> opened
    opened        --调查取证 investigate [officer]--> investigated  (again: 补充调查)
    investigated  --告知 notify [officer]----------> notified
    notified      --法制审核 legal_review [legal_reviewer]--> reviewed, or returned to
                                                             investigated (new notice due)
    notified, reviewed --决定 decide [approver]----> decided
    decided       --送达 serve [officer]-----------> served
    served        --执行 execute [officer]---------> executed
    executed      --结案 close [officer]-----------> closed

Each step is a record (:class:`Opening`, :class:`Investigation`, :class:`Notice`,
:class:`LegalReview`, :class:`Decision`, :class:`Service`, :class:`Execution`,
:class:`Closing`) dated ``on`` and made ``by`` an :class:`Actor` (user, role and, for an
officer, the certificate number 执法证号). :func:`open_case` and :func:`advance` check a record
and return the new :class:`EnforcementCase` (the records, normalised, are its history:
:func:`replay` rebuilds a case from them), or raise — nothing is kept of a refused step.
Checked, in this order:

1. **order** — the step must be one the case's status allows (:class:`IllegalStep`, 409);
   a decision needs legal review first when the item marks its decisions as major
   (``major_decision``) or the notified amount lies outside the discretion band;
2. **role** — the step's role (:data:`STEP_ROLES`; :class:`WrongStepRole`, 403), and
   separation of duties: the legal reviewer has not acted on the case as an officer, the
   approver is not the legal reviewer;
3. **dates** — not before 立案, not before the previous step; a decision not before the
   waiting period after the notice has ended (:class:`IllegalStep`);
4. **officers** — the acting officer, and every officer named in an investigation (at least
   two: 《行政处罚法》第四十二条), is in the registry, valid that day and has the item in
   their area (:class:`UnqualifiedOfficer`, 403);
5. **content** — texts given, amounts that are amounts, the band (:class:`OutOfBand`, 409,
   unless legal review recorded an override with a written justification), a decision no
   heavier than notified (《行政处罚法》第四十五条) (:class:`InvalidRecord`, 422, names the
   field).

The waiting period of a notice (陈述、申辩 and 听证 may be asked for within it) is counted in
working days (《行政处罚法》第八十五条: its 三日, 五日 are working days), from the day after
the notice: the decision may be taken from the day after its last working day.

Example::

    >>> from datetime import date
    >>> from sunlight.catalogue import sample_catalogue
    >>> from sunlight.enforcement.officers import load_registry, sample_registry_text
    >>> from sunlight.enforcement.party import Party
    >>> item = sample_catalogue().item("320703-SCJGJ-CF-001")      # major decisions
    >>> registry = load_registry(sample_registry_text())
    >>> wang = Actor("wang.qiang", OFFICER, "32070300101")
    >>> party = Party("company", "连云港某某食品有限公司", "91110000600037341L")
    >>> case = open_case(item, Opening(date(2026, 3, 2), wang, party, "投诉举报",
    ...                                "无证经营食品"), registry)
    >>> case = advance(case, item, Investigation(
    ...     date(2026, 3, 4), wang, ("32070300101", "32070300102"),
    ...     (Evidence("record", "现场检查笔录"),), "未取得食品经营许可从事食品经营"), registry)
    >>> terms = Terms("《中华人民共和国食品安全法》第一百二十二条第一款", "无证经营食品",
    ...               "V01", "general", Decimal("70000"))
    >>> case = advance(case, item, Notice(date(2026, 3, 5), wang, terms, 5, True), registry)
    >>> [(step.value, role) for step, role in allowed_steps(case, item)]
    [('legal_review', 'legal_reviewer')]
    >>> try:
    ...     advance(case, item, Decision(date(2026, 3, 13), Actor("li.ju", APPROVER), terms),
    ...             registry)
    ... except IllegalStep as exc:
    ...     print(exc.http_status, exc.reason.split(":")[0])
    409 legal review (法制审核) is mandatory before this decision
    >>> decision_window_opens(case.notice)    # 5 working days after Thu 5 March: Thu 12th
    datetime.date(2026, 3, 13)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Literal

from sunlight.catalogue.model import (
    ENFORCEMENT_CATEGORIES,
    SEVERITIES,
    Category,
    ItemStatus,
    PowerItem,
)
from sunlight.enforcement.discretion import (
    BandCheck,
    check_justification,
    measure_band,
    out_of_band,
    read_amount,
)
from sunlight.enforcement.errors import (
    EnforcementError,
    IllegalStep,
    InvalidRecord,
    UnqualifiedOfficer,
    WrongStepRole,
)
from sunlight.enforcement.officers import OfficerRegistry, qualified
from sunlight.enforcement.party import Party
from sunlight.workflow.deadlines import add_working_days

__all__ = [
    "APPROVER",
    "CASE_SOURCES",
    "ENFORCEMENT_ROLES",
    "EVIDENCE_KINDS",
    "EXECUTION_MANNERS",
    "LEGAL_REVIEWER",
    "MAX_WAITING_DAYS",
    "MIN_OFFICERS",
    "OFFICER",
    "SERVICE_METHODS",
    "STAGE_LABELS",
    "STEP_LABELS",
    "STEP_ROLES",
    "Actor",
    "Closing",
    "Decision",
    "EnforcementCase",
    "Evidence",
    "Execution",
    "Investigation",
    "LegalReview",
    "Notice",
    "Opening",
    "Record",
    "Service",
    "Stage",
    "Step",
    "Terms",
    "advance",
    "allowed_steps",
    "decision_window_opens",
    "legal_review_required",
    "open_case",
    "replay",
]

#: 执法人员: opens, investigates, notifies, serves, executes and closes (must hold a valid
#: certificate for the item: :mod:`sunlight.enforcement.officers`).
OFFICER = "officer"
#: 法制审核人员: the legal review before a decision.
LEGAL_REVIEWER = "legal_reviewer"
#: 负责人: takes the decision.
APPROVER = "approver"
ENFORCEMENT_ROLES: tuple[str, ...] = (OFFICER, LEGAL_REVIEWER, APPROVER)
#: At least two officers investigate (《行政处罚法》第四十二条).
MIN_OFFICERS = 2
MAX_WAITING_DAYS = 60


class Stage(StrEnum):
    """Where an enforcement case is."""

    opened = "opened"
    investigated = "investigated"
    notified = "notified"
    reviewed = "reviewed"
    decided = "decided"
    served = "served"
    executed = "executed"
    closed = "closed"


class Step(StrEnum):
    """What is done to an enforcement case."""

    open = "open"
    investigate = "investigate"
    notify = "notify"
    legal_review = "legal_review"
    decide = "decide"
    serve = "serve"
    execute = "execute"
    close = "close"


STAGE_LABELS: dict[Stage, str] = {
    Stage.opened: "已立案", Stage.investigated: "已调查取证", Stage.notified: "已告知",
    Stage.reviewed: "已法制审核", Stage.decided: "已决定", Stage.served: "已送达",
    Stage.executed: "已执行", Stage.closed: "已结案",
}
STEP_LABELS: dict[Step, str] = {
    Step.open: "立案", Step.investigate: "调查取证", Step.notify: "告知",
    Step.legal_review: "法制审核", Step.decide: "决定", Step.serve: "送达",
    Step.execute: "执行", Step.close: "结案",
}
STEP_ROLES: dict[Step, str] = {
    Step.open: OFFICER, Step.investigate: OFFICER, Step.notify: OFFICER,
    Step.legal_review: LEGAL_REVIEWER, Step.decide: APPROVER, Step.serve: OFFICER,
    Step.execute: OFFICER, Step.close: OFFICER,
}
_NEXT: dict[Stage, tuple[Step, ...]] = {
    Stage.opened: (Step.investigate,),
    Stage.investigated: (Step.investigate, Step.notify),
    Stage.notified: (Step.legal_review, Step.decide),
    Stage.reviewed: (Step.decide,),
    Stage.decided: (Step.serve,),
    Stage.served: (Step.execute,),
    Stage.executed: (Step.close,),
    Stage.closed: (),
}
_AFTER: dict[Step, Stage] = {
    Step.investigate: Stage.investigated, Step.notify: Stage.notified,
    Step.legal_review: Stage.reviewed, Step.decide: Stage.decided, Step.serve: Stage.served,
    Step.execute: Stage.executed, Step.close: Stage.closed,
}

#: 案件来源, as the sample penalty forms list them.
CASE_SOURCES: tuple[str, ...] = ("监督检查", "投诉举报", "上级交办", "部门移送", "其他")
#: The kinds of evidence (证据种类, 《行政诉讼法》第三十三条).
EVIDENCE_KINDS: dict[str, str] = {
    "documentary": "书证", "physical": "物证", "audiovisual": "视听资料",
    "electronic": "电子数据", "witness": "证人证言", "statement": "当事人的陈述",
    "expert_opinion": "鉴定意见", "record": "勘验笔录、现场笔录",
}
#: Ways of serving a decision (送达方式).
SERVICE_METHODS: dict[str, str] = {
    "direct": "直接送达", "left": "留置送达", "electronic": "电子送达", "post": "邮寄送达",
    "entrusted": "委托送达", "public_notice": "公告送达",
}
#: How a decision was carried out (执行方式).
EXECUTION_MANNERS: dict[str, str] = {
    "performed": "当事人自觉履行", "enforced": "强制执行", "none": "无需执行",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who takes a step: the user, the role they act in, and an officer's certificate."""

    user: str
    role: str
    certificate: str | None = None


@dataclass(frozen=True)
class Opening:
    """立案: the party, where the case came from (:data:`CASE_SOURCES`), what it is about."""

    on: date
    by: Actor
    party: Party
    source: str
    summary: str
    step: ClassVar[Step] = Step.open


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: its kind (:data:`EVIDENCE_KINDS`, by key or Chinese name), a
    title, and the SHA-256 of the stored file, when there is one."""

    kind: str
    title: str
    sha256: str | None = None


@dataclass(frozen=True)
class Investigation:
    """调查取证: the officers who investigated (certificate numbers), the evidence, findings."""

    on: date
    by: Actor
    officers: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    findings: str
    step: ClassVar[Step] = Step.investigate


@dataclass(frozen=True)
class Terms:
    """What is (to be) decided: legal basis, facts and, for a penalty item, the violation,
    its severity (情节) and the fine in yuan; for other items an amount is optional (a levy)
    and violation and severity are left out."""

    legal_basis: str
    facts: str
    violation: str | None = None
    severity: str | None = None
    amount_yuan: Decimal | None = None


@dataclass(frozen=True)
class Notice:
    """告知: the intended decision, the right to state a defence (always) and, with
    ``hearing_right``, to ask for a hearing; ``waiting_days`` working days to do so."""

    on: date
    by: Actor
    intended: Terms
    waiting_days: int
    hearing_right: bool
    step: ClassVar[Step] = Step.notify


@dataclass(frozen=True)
class LegalReview:
    """法制审核: the opinion, ``pass`` or ``return`` (back to investigation; a new notice is
    due), and ``override``: the written justification that lets the notified amount stand
    outside the band."""

    on: date
    by: Actor
    opinion: str
    outcome: Literal["pass", "return"] = "pass"
    override: str | None = None
    step: ClassVar[Step] = Step.legal_review


@dataclass(frozen=True)
class Decision:
    """决定: the terms decided."""

    on: date
    by: Actor
    terms: Terms
    step: ClassVar[Step] = Step.decide


@dataclass(frozen=True)
class Service:
    """送达: how (:data:`SERVICE_METHODS`) and to whom the decision was served."""

    on: date
    by: Actor
    method: str
    recipient: str = ""
    step: ClassVar[Step] = Step.serve


@dataclass(frozen=True)
class Execution:
    """执行: how it was carried out (:data:`EXECUTION_MANNERS`) and what was paid."""

    on: date
    by: Actor
    manner: str
    paid_yuan: Decimal | None = None
    note: str = ""
    step: ClassVar[Step] = Step.execute


@dataclass(frozen=True)
class Closing:
    """结案: the closing summary."""

    on: date
    by: Actor
    summary: str
    step: ClassVar[Step] = Step.close


Record = (Opening | Investigation | Notice | LegalReview | Decision | Service | Execution
          | Closing)


@dataclass(frozen=True)
class EnforcementCase:
    """An enforcement case: its item version, status, the records in force and its history.

    ``review`` is the legal review in force (a returned one is only in ``history``);
    ``band`` the band check of the decision (``override`` set when legal review's override
    let it pass outside the band).
    """

    item_code: str
    item_version: int
    status: Stage
    opening: Opening
    investigations: tuple[Investigation, ...] = ()
    notice: Notice | None = None
    review: LegalReview | None = None
    decision: Decision | None = None
    band: BandCheck | None = None
    service: Service | None = None
    execution: Execution | None = None
    closing: Closing | None = None
    history: tuple[Record, ...] = ()

    @property
    def opened_on(self) -> date:
        """The day of 立案: no step may be dated before it."""
        return self.opening.on

    @property
    def last_on(self) -> date:
        """The date of the latest step."""
        return self.history[-1].on if self.history else self.opening.on

    @property
    def officers(self) -> tuple[str, ...]:
        """The certificates of the officers named by the latest investigation."""
        return self.investigations[-1].officers if self.investigations else ()

    @property
    def overridden(self) -> bool:
        """Whether the decision stands outside its band by a legal-review override."""
        return self.band is not None and self.band.override


# -- the machine --------------------------------------------------------------------------


def open_case(item: PowerItem, opening: Opening, registry: OfficerRegistry) -> EnforcementCase:
    """立案: a new case of ``item``, or the refusal (see the module docstring)."""
    step = Step.open
    if item.category not in ENFORCEMENT_CATEGORIES:
        raise IllegalStep(
            f"立案 is for items of the penalty, coercion, levy and inspection categories; item "
            f"{item.code} is {item.category.zh} ({item.category.value}) and starts from an "
            "application", step=step)
    if item.status is not ItemStatus.PUBLISHED:
        raise IllegalStep(f"item {item.code} version {item.version} is {item.status.value}; a "
                          "case opens under the version in force", step=step)
    _check_role(opening.by, step, None)
    on = _day(opening.on, "on", step, None)
    _check_officer(registry, opening.by.certificate, item, on, "by.certificate", step, None)
    if not isinstance(opening.party, Party):
        raise InvalidRecord("a Party (person or company)", field="party", step=step)
    source = _text(opening.source, "source", step, None)
    if source not in CASE_SOURCES:
        raise InvalidRecord(f"{source!r} is not a case source; one of "
                            f"{', '.join(CASE_SOURCES)}", field="source", step=step)
    record = replace(opening, on=on, source=source,
                     summary=_text(opening.summary, "summary", step, None))
    return EnforcementCase(item_code=item.code, item_version=item.version, status=Stage.opened,
                           opening=record, history=(record,))


def advance(case: EnforcementCase, item: PowerItem, record: Record,
            registry: OfficerRegistry) -> EnforcementCase:
    """Take the step ``record`` describes; return the new case or raise (module docstring)."""
    step = record.step
    status = case.status.value
    if (item.code, item.version) != (case.item_code, case.item_version):
        raise IllegalStep(f"the case runs under item {case.item_code} version "
                          f"{case.item_version}, not {item.code} version {item.version}",
                          step=step, status=status)
    if step is Step.open:
        raise IllegalStep("the case is already open (立案 happens once)", step=step,
                          status=status)
    if step not in _NEXT[case.status]:
        raise IllegalStep(f"cannot {step.value} ({STEP_LABELS[step]}) a case that is "
                          f"{status} ({STAGE_LABELS[case.status]}); " + _describe(case, item),
                          step=step, status=status)
    if step is Step.decide and case.review is None:
        why = legal_review_required(case, item)
        if why is not None:
            raise IllegalStep(f"legal review (法制审核) is mandatory before this decision: {why}; "
                              "the case has had none", step=step, status=status)
    _check_role(record.by, step, case)
    on = _day(record.on, "on", step, status)
    if on < case.opened_on:
        raise IllegalStep(f"dated {on}, before the case was opened (立案) on {case.opened_on}",
                          field="on", step=step, status=status)
    if on < case.last_on:
        previous = case.history[-1].step
        raise IllegalStep(f"dated {on}, before the previous step ({STEP_LABELS[previous]} on "
                          f"{case.last_on})", field="on", step=step, status=status)
    if STEP_ROLES[step] == OFFICER:
        _check_officer(registry, record.by.certificate, item, on, "by.certificate", step,
                       status)
    record = replace(record, on=on)
    if isinstance(record, Investigation):
        return _investigate(case, item, record, registry)
    if isinstance(record, Notice):
        return _notify(case, item, record)
    if isinstance(record, LegalReview):
        return _legal_review(case, item, record)
    if isinstance(record, Decision):
        return _decide(case, item, record)
    if isinstance(record, Service):
        return _serve(case, record)
    if isinstance(record, Execution):
        return _execute(case, record)
    assert isinstance(record, Closing)
    closing = replace(record, summary=_text(record.summary, "summary", step, status))
    return _moved(case, closing, closing=closing)


def replay(item: PowerItem, records: Iterable[Record],
           registry: OfficerRegistry) -> EnforcementCase:
    """The case the records make, from 立案 on (as :func:`open_case` then :func:`advance`)."""
    steps = iter(records)
    first = next(steps, None)
    if not isinstance(first, Opening):
        raise IllegalStep("a case's history starts with its opening (立案)", step=Step.open)
    case = open_case(item, first, registry)
    for record in steps:
        case = advance(case, item, record, registry)
    return case


def allowed_steps(case: EnforcementCase, item: PowerItem) -> list[tuple[Step, str]]:
    """The steps possible now and the role that takes each (for work queues); a decision is
    not offered while a mandatory legal review is missing."""
    steps = list(_NEXT[case.status])
    if (Step.decide in steps and case.review is None
            and legal_review_required(case, item) is not None):
        steps.remove(Step.decide)
    return [(step, STEP_ROLES[step]) for step in steps]


def legal_review_required(case: EnforcementCase, item: PowerItem) -> str | None:
    """Why legal review is mandatory before this case's decision, or None if it is optional:
    the item marks its decisions as major, or the notified amount lies outside its band."""
    if item.major_decision:
        return f"item {item.code} marks its decisions as major (重大执法决定)"
    terms = case.notice.intended if case.notice is not None else None
    if terms is not None and terms.violation is not None and terms.severity is not None:
        measured = measure_band(item, terms.violation, terms.severity, terms.amount_yuan)
        if not measured.inside:
            return (f"the notified amount {measured.amount} 元 lies outside the band "
                    f"{measured.band}")
    return None


def decision_window_opens(notice: Notice) -> date:
    """The first day the decision may be taken: the day after the waiting period's last
    working day (counted from the day after the notice)."""
    return add_working_days(notice.on, notice.waiting_days) + timedelta(days=1)


# -- the steps ----------------------------------------------------------------------------


def _investigate(case: EnforcementCase, item: PowerItem, record: Investigation,
                 registry: OfficerRegistry) -> EnforcementCase:
    step, status = Step.investigate, case.status.value
    officers: list[str] = []
    for index, certificate in enumerate(record.officers):
        found = _check_officer(registry, certificate, item, record.on, f"officers[{index}]",
                               step, status)
        if found not in officers:
            officers.append(found)
    if len(officers) < MIN_OFFICERS:
        raise InvalidRecord(
            f"at least {MIN_OFFICERS} enforcement officers must be named "
            f"(《行政处罚法》第四十二条: 执法人员不得少于两人); got {len(officers)}",
            field="officers", step=step,
            status=status)
    if not record.evidence:
        raise InvalidRecord("record at least one piece of evidence", field="evidence",
                            step=step, status=status)
    evidence = tuple(_evidence(piece, f"evidence[{index}]", step, status)
                     for index, piece in enumerate(record.evidence))
    investigation = replace(record, officers=tuple(officers), evidence=evidence,
                            findings=_text(record.findings, "findings", step, status))
    return _moved(case, investigation,
                  investigations=(*case.investigations, investigation))


def _notify(case: EnforcementCase, item: PowerItem, record: Notice) -> EnforcementCase:
    step, status = Step.notify, case.status.value
    intended = _terms(item, record.intended, "intended.", step, status)
    days = record.waiting_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WAITING_DAYS:
        raise InvalidRecord(f"a whole number of working days, 1 to {MAX_WAITING_DAYS}; got "
                            f"{days!r}", field="waiting_days", step=step, status=status)
    if not isinstance(record.hearing_right, bool):
        raise InvalidRecord("true or false", field="hearing_right", step=step, status=status)
    notice = replace(record, intended=intended)
    return _moved(case, notice, notice=notice, review=None)


def _legal_review(case: EnforcementCase, item: PowerItem, record: LegalReview) -> EnforcementCase:
    step, status = Step.legal_review, case.status.value
    assert case.notice is not None  # a notified case has its notice
    acted = {r.by.user for r in case.history if STEP_ROLES[r.step] == OFFICER}
    if record.by.user in acted:
        raise WrongStepRole(f"{record.by.user} acted on this case as an officer; legal review "
                            "must be by someone else (岗位分离)", step=step, status=status)
    opinion = _text(record.opinion, "opinion", step, status)
    if record.outcome not in ("pass", "return"):
        raise InvalidRecord(f"pass or return, not {record.outcome!r}", field="outcome",
                            step=step, status=status)
    terms = case.notice.intended
    measured = None
    if terms.violation is not None and terms.severity is not None:
        measured = measure_band(item, terms.violation, terms.severity, terms.amount_yuan)
    override = None
    if record.override is not None:
        if record.outcome == "return":
            raise InvalidRecord("a returned case overrides nothing", field="override",
                                step=step, status=status)
        if measured is None or measured.inside:
            raise InvalidRecord("nothing to override: the notified amount is inside its band"
                                if measured is not None else
                                "nothing to override: the item has no discretion band",
                                field="override", step=step, status=status)
        override = check_justification(record.override, "override")
    elif record.outcome == "pass" and measured is not None and not measured.inside:
        raise out_of_band(item, measured, "override",
                          "; pass it with an override, or return it")
    review = replace(record, opinion=opinion, override=override)
    if record.outcome == "return":
        return _moved(case, review, status=Stage.investigated, notice=None, review=None)
    return _moved(case, review, review=review)


def _decide(case: EnforcementCase, item: PowerItem, record: Decision) -> EnforcementCase:
    step, status = Step.decide, case.status.value
    notice = case.notice
    assert notice is not None  # a notified or reviewed case has its notice
    if case.review is not None and record.by.user == case.review.by.user:
        raise WrongStepRole(f"{record.by.user} made the legal review of this case; the "
                            "decision must be by someone else (岗位分离)", step=step,
                            status=status)
    opens = decision_window_opens(notice)
    if record.on < opens:
        raise IllegalStep(
            f"dated {record.on}, inside the waiting period after the notice (告知) of "
            f"{notice.on}: {notice.waiting_days} working days for the party to state a defence"
            f"{' or ask for a hearing' if notice.hearing_right else ''}; the decision may be "
            f"taken from {opens}", field="on", step=step, status=status)
    terms = _terms(item, record.terms, "terms.", step, status)
    intended = notice.intended
    band = None
    if terms.violation is not None and terms.severity is not None:
        assert terms.amount_yuan is not None and intended.amount_yuan is not None
        if terms.violation != intended.violation:
            raise IllegalStep(f"the decision names violation {terms.violation}, the notice "
                              f"named {intended.violation}: notify the party again",
                              field="terms.violation", step=step, status=status)
        if terms.amount_yuan > intended.amount_yuan:
            raise IllegalStep(
                f"{terms.amount_yuan} 元 is heavier than the {intended.amount_yuan} 元 notified "
                "(《行政处罚法》第四十五条: no heavier penalty for stating a defence); notify "
                "the party again", field="terms.amount_yuan", step=step, status=status)
        band = measure_band(item, terms.violation, terms.severity, terms.amount_yuan,
                            prefix="terms.")
        if not band.inside:
            review = case.review
            covered = (review is not None and review.override is not None
                       and (terms.severity, terms.amount_yuan)
                       == (intended.severity, intended.amount_yuan))
            if not covered:
                extra = ""
                if review is not None and review.override is not None:
                    extra = (f"; legal review approved an override for {intended.amount_yuan} "
                             f"元 at {intended.severity} only")
                raise _with(out_of_band(item, band, "terms.amount_yuan", extra), step, status)
            assert review is not None and review.override is not None
            band = replace(band, override=True, justification=review.override)
    decision = replace(record, terms=terms)
    return _moved(case, decision, decision=decision, band=band)


def _serve(case: EnforcementCase, record: Service) -> EnforcementCase:
    step, status = Step.serve, case.status.value
    if record.method not in SERVICE_METHODS:
        raise InvalidRecord(f"{record.method!r} is not a way of serving; one of "
                            f"{', '.join(SERVICE_METHODS)}", field="method", step=step,
                            status=status)
    service = replace(record, recipient=record.recipient.strip())
    return _moved(case, service, service=service)


def _execute(case: EnforcementCase, record: Execution) -> EnforcementCase:
    step, status = Step.execute, case.status.value
    if record.manner not in EXECUTION_MANNERS:
        raise InvalidRecord(f"{record.manner!r} is not a manner of execution; one of "
                            f"{', '.join(EXECUTION_MANNERS)}", field="manner", step=step,
                            status=status)
    paid = None
    if record.paid_yuan is not None:
        paid = _amount(record.paid_yuan, "paid_yuan", step, status)
        decided = case.decision.terms.amount_yuan if case.decision is not None else None
        if decided is not None and paid > decided:
            raise InvalidRecord(f"{paid} 元 is more than the {decided} 元 decided",
                                field="paid_yuan", step=step, status=status)
    execution = replace(record, paid_yuan=paid, note=record.note.strip())
    return _moved(case, execution, execution=execution)


# -- checks -------------------------------------------------------------------------------


def _moved(case: EnforcementCase, record: Record, *, status: Stage | None = None,
           **changes: object) -> EnforcementCase:
    return replace(case, status=status or _AFTER[record.step],
                   history=(*case.history, record), **changes)  # type: ignore[arg-type]


def _describe(case: EnforcementCase, item: PowerItem) -> str:
    allowed = allowed_steps(case, item)
    if not allowed:
        return "the case is closed; no step is allowed"
    return "allowed: " + ", ".join(f"{step.value} ({role})" for step, role in allowed)


def _check_role(actor: Actor, step: Step, case: EnforcementCase | None) -> None:
    role = STEP_ROLES[step]
    if actor.role != role:
        raise WrongStepRole(f"{step.value} ({STEP_LABELS[step]}) is for role {role}, not "
                            f"{actor.role}", step=step,
                            status=case.status.value if case else None)


def _check_officer(registry: OfficerRegistry, certificate: str | None, item: PowerItem,
                   on: date, field: str, step: Step, status: str | None) -> str:
    """The normalised certificate number of a qualified officer, or the refusal."""
    if certificate is None or not str(certificate).strip():
        raise UnqualifiedOfficer("an officer acting on an enforcement case gives the "
                                 "certificate number (执法证号)", certificate="",
                                 why="missing", field=field, step=step, status=status)
    answer = qualified(registry, certificate, item, on)
    if not answer:
        raise UnqualifiedOfficer(answer.reason, certificate=answer.certificate, why=answer.why,
                                 field=field, step=step, status=status)
    return answer.certificate


def _day(value: object, field: str, step: Step, status: str | None) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidRecord(f"a date (YYYY-MM-DD), not {value!r}", field=field, step=step,
                            status=status)
    return value


def _text(value: object, field: str, step: Step, status: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord("missing", field=field, step=step, status=status)
    return value.strip()


def _amount(value: object, field: str, step: Step, status: str | None) -> Decimal:
    try:
        return read_amount(value, field)
    except EnforcementError as exc:
        raise _with(exc, step, status) from None


def _with(exc: EnforcementError, step: Step, status: str | None) -> EnforcementError:
    exc.step, exc.status = step, status
    return exc


def _evidence(piece: Evidence, field: str, step: Step, status: str | None) -> Evidence:
    kind = piece.kind
    if kind not in EVIDENCE_KINDS:
        by_name = {zh: key for key, zh in EVIDENCE_KINDS.items()}
        if kind not in by_name:
            raise InvalidRecord(f"{kind!r} is not a kind of evidence; one of "
                                f"{', '.join(EVIDENCE_KINDS)}", field=f"{field}.kind",
                                step=step, status=status)
        kind = by_name[kind]
    digest = piece.sha256
    if digest is not None and not _SHA256.fullmatch(digest):
        raise InvalidRecord("64 lower-case hex digits", field=f"{field}.sha256", step=step,
                            status=status)
    return Evidence(kind, _text(piece.title, f"{field}.title", step, status), digest)


def _terms(item: PowerItem, terms: Terms, prefix: str, step: Step, status: str) -> Terms:
    """The terms checked against the item and normalised (amount to two places)."""
    legal_basis = _text(terms.legal_basis, f"{prefix}legal_basis", step, status)
    facts = _text(terms.facts, f"{prefix}facts", step, status)
    amount = (None if terms.amount_yuan is None
              else _amount(terms.amount_yuan, f"{prefix}amount_yuan", step, status))
    if item.category is not Category.PENALTY:
        for name in ("violation", "severity"):
            if getattr(terms, name) is not None:
                raise InvalidRecord(f"only penalty items have discretion standards; item "
                                    f"{item.code} is {item.category.zh}",
                                    field=f"{prefix}{name}", step=step, status=status)
        return Terms(legal_basis, facts, None, None, amount)
    for name, value in (("violation", terms.violation), ("severity", terms.severity),
                        ("amount_yuan", amount)):
        if value is None:
            raise InvalidRecord("missing: a penalty names the violation, its severity and the "
                                "amount", field=f"{prefix}{name}", step=step, status=status)
    assert terms.violation is not None and terms.severity is not None and amount is not None
    if terms.severity not in SEVERITIES:
        raise InvalidRecord(f"unknown severity {terms.severity!r}; one of "
                            f"{', '.join(SEVERITIES)}", field=f"{prefix}severity", step=step,
                            status=status)
    try:
        measure_band(item, terms.violation, terms.severity, amount, prefix=prefix)
    except EnforcementError as exc:
        raise _with(exc, step, status) from None
    return Terms(legal_basis, facts, terms.violation, terms.severity, amount)
