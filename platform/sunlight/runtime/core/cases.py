"""Cases (权力运行): intake from the exchange, transitions, queues, deadlines, overdue.

Every change writes a case event, an audit record, an outbound status record and (at a
city or county) a cross-tier event for the parent in the same transaction as the change,
and re-evaluates the case's e-supervision light (:mod:`sunlight.runtime.core.lights`).
A grant or denial also issues the decision document (准予 / 不予行政许可决定书,
:mod:`sunlight.runtime.core.licence_decision`) in that transaction.
A transition's ``comment`` is internal (staff, the audit chain, the parent tiers); the
outbound status record — what reaches the applicant — carries only the ``applicant_note``
staff wrote for the applicant, nothing by default. The event and the audit record keep
both, the note after :data:`APPLICANT_NOTE_MARK`, so the trail shows what the applicant
was told.
Time is core's clock (:mod:`sunlight.runtime.clock`): every function that changes a case
takes ``now`` (the system time when not given); deadlines and overdue marks count the
working days of ``now``'s date in China.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, String, and_, cast, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from sunlight.catalogue.flow import FlowStep
from sunlight.runtime.core import licence_decision, lights, outbound
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import SUPERVISOR, Staff, require_watch
from sunlight.runtime.core.models import Case, CaseEvent, CaseMaterial, ExchangeMaterial, Item
from sunlight.runtime.core.supervision_rules import in_force
from sunlight.runtime.db import utcnow
from sunlight.runtime.errors import ApiError, not_found
from sunlight.runtime.exchange import outbox as exchange_outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.schemas import CASE_EVENT
from sunlight.runtime.records import (
    ApplicationResubmitted,
    ApplicationSubmitted,
    MaterialRef,
    RecordRejected,
)
from sunlight.supervision.evaluate import separation_refusal
from sunlight.topology.division import expected_parent
from sunlight.workflow.deadlines import due_date
from sunlight.workflow.machine import (
    APPLICANT_ROLE,
    Action,
    CaseState,
    CaseStatus,
    IllegalTransition,
    WrongRole,
    allowed_actions,
    clock_running,
    transition,
)

CHINA = ZoneInfo("Asia/Shanghai")
OPEN_STATUSES = [s.value for s in CaseStatus if s not in (CaseStatus.refused, CaseStatus.closed)]


def today(now: datetime | None = None) -> date:
    """``now``'s date in China (the system clock's when not given)."""
    return (now or datetime.now(UTC)).astimezone(CHINA).date()


def flow_of(session: Session, case: Case) -> list[FlowStep]:
    item = session.get(Item, (case.item_code, case.item_version))
    assert item is not None, f"case {case.receipt} refers to a missing item"
    steps = item.doc["flow"]
    assert isinstance(steps, list)
    return [FlowStep.model_validate(s) for s in steps]


def state_of(case: Case) -> CaseState:
    return CaseState(
        status=CaseStatus(case.status), step_index=case.step_index,
        decision=case.decision,  # type: ignore[arg-type]
        resume_status=CaseStatus(case.resume_status) if case.resume_status else None,
        resume_step_index=case.resume_step_index)


def _pauses(case: Case) -> list[tuple[date, date | None]]:
    return [(date.fromisoformat(str(a)), date.fromisoformat(str(b)) if b else None)
            for a, b in case.paused]


def _recompute_due(case: Case, on: date) -> None:
    case.due_on = due_date(case.submitted_on, case.limit_days, _pauses(case), today=on)


def _save_materials(session: Session, case: Case, batch: int,
                    materials: list[MaterialRef]) -> None:
    """Move the materials the record names from where they crossed (one by one, ahead of
    the record) to the case; RecordRejected unless each crossed with its size and sha256."""
    for m in materials:
        staged = session.get(ExchangeMaterial, m.id)
        if staged is None:
            raise RecordRejected(f"material {m.id} has not crossed")
        if (staged.sha256, staged.size) != (m.sha256, m.size) or \
                hashlib.sha256(staged.content).hexdigest() != m.sha256:
            raise RecordRejected(f"material {m.id}: the bytes that crossed do not match the "
                                 "record's size/sha256")
        session.add(CaseMaterial(id=m.id, case_id=case.id, batch=batch, name=m.name,
                                 filename=m.filename, content_type=m.content_type, size=m.size,
                                 sha256=m.sha256, content=staged.content))
        session.delete(staged)


#: Where an event's (and its audit record's) comment gives what the applicant was told.
APPLICANT_NOTE_MARK = "〔告知申请人〕"


def _recorded(comment: str, applicant_note: str) -> str:
    """The comment as the event and the audit chain keep it: the internal comment, then
    the note for the applicant (if any) after :data:`APPLICANT_NOTE_MARK`."""
    if not applicant_note:
        return comment
    return "\n".join(p for p in (comment, APPLICANT_NOTE_MARK + applicant_note) if p)


def _event(session: Session, site: str, case: Case, actor: str, role: str, action: str,
           before: str | None, comment: str, now: datetime, applicant_note: str = "") -> None:
    comment = _recorded(comment, applicant_note)
    session.add(CaseEvent(case_id=case.id, at=now, actor=actor, role=role, action=action,
                          from_status=before, to_status=case.status, comment=comment))
    light = lights.assess(session, site, case, now)  # before the audit chain's lock
    audit(session, site, actor=actor, role=role, entity="case", entity_id=case.receipt,
          action=action, from_state=before, to_state=case.status, comment=comment)
    case.status_seq += 1
    case.updated_at = utcnow()
    outbound.case_status(session, case, applicant_note=applicant_note)  # never the comment
    # status_seq is the per-case sequence the parent applies in order.
    _report_up(session, site, case, actor=actor, role=role, action=action, before=before,
               comment=comment, now=now)
    lights.store(session, site, light, now, action)


def _report_up(session: Session, site: str, case: Case, *, actor: str, role: str, action: str,
               before: str | None, comment: str, now: datetime) -> None:
    """Queue the transition just applied to ``case`` (its ``status_seq`` already advanced)
    as a cross-tier case event for the parent; a province has nobody to report to."""
    parent = expected_parent(site)
    if parent is None:
        return
    data = {
        "receipt": case.receipt, "action": action, "from_status": before,
        "to_status": case.status, "department": case.department, "item_code": case.item_code,
        "item_version": case.item_version, "actor": actor, "role": role,
        "at": now.isoformat(), "due_on": case.due_on.isoformat(), "overdue": case.overdue,
        "decision": case.decision, "comment": comment[:4000],
    }
    exchange_outbox.enqueue(session, parent, Envelope.new(
        site, CASE_EVENT, data, subject=case.receipt, sequence=case.status_seq, time=now))


def receive(session: Session, site: str, rec: ApplicationSubmitted,
            now: datetime | None = None) -> Case:
    """A new application from the portal becomes a case awaiting acceptance."""
    now = now or utcnow()
    item = session.get(Item, (rec.item_code, rec.item_version))
    if item is None:
        raise RecordRejected(f"unknown power item {rec.item_code} v{rec.item_version}")
    if session.scalars(select(Case.id).where(Case.receipt == rec.receipt)).first():
        raise RecordRejected(f"receipt {rec.receipt} already has a case")
    submitted_on = rec.submitted_at.astimezone(CHINA).date()
    limit = int(item.doc["promised_limit_days"])  # type: ignore[call-overload]
    case = Case(
        receipt=rec.receipt, item_code=item.code, item_version=item.version,
        department=item.department, applicant_kind=rec.applicant.kind,
        applicant_id=rec.applicant.id_number, applicant_name=rec.applicant.name,
        form=rec.form, status=CaseStatus.submitted.value, step_index=0,
        submitted_on=submitted_on, limit_days=limit, paused=[],
        due_on=due_date(submitted_on, limit), status_seq=0,
    )
    session.add(case)
    session.flush()
    _save_materials(session, case, rec.batch, rec.materials)
    _event(session, site, case, "applicant", APPLICANT_ROLE, "submit", None, "", now)
    return case


def resubmitted(session: Session, site: str, rec: ApplicationResubmitted,
                now: datetime | None = None) -> Case:
    now = now or utcnow()
    case = session.scalars(select(Case).where(Case.receipt == rec.receipt)
                           .with_for_update()).first()
    if case is None:
        raise RecordRejected(f"no case for receipt {rec.receipt}")
    try:
        _move(session, case, Action.resubmit, APPLICANT_ROLE, "", today(now))
    except IllegalTransition as exc:
        raise RecordRejected(f"resubmission refused: {exc.reason}") from exc
    _save_materials(session, case, rec.batch, rec.materials)
    _event(session, site, case, "applicant", APPLICANT_ROLE, "resubmit",
           CaseStatus.correction_requested.value, "", now)
    return case


def _move(session: Session, case: Case, action: Action, role: str, comment: str,
          on: date) -> str:
    """Apply the transition to the row, stopping or restarting the clock on ``on``; return
    the old status."""
    before = CaseStatus(case.status)
    new = transition(state_of(case), action, role, flow_of(session, case), comment)
    if clock_running(before) and not clock_running(new.status) and new.status in (
            CaseStatus.correction_requested, CaseStatus.suspended):
        case.paused = [*case.paused, [on.isoformat(), None]]
    elif before in (CaseStatus.correction_requested, CaseStatus.suspended) and case.paused:
        *done, last = case.paused
        case.paused = [*done, [last[0], on.isoformat()]]
    case.status, case.step_index, case.decision = new.status.value, new.step_index, new.decision
    case.resume_status = new.resume_status.value if new.resume_status else None
    case.resume_step_index = new.resume_step_index
    _recompute_due(case, on)
    return before.value


def _role_for(staff: Staff, state: CaseState, action: Action, flow: list[FlowStep]) -> str:
    """The staff member's role that may take ``action`` now; else one that the state machine
    will refuse with the right reason (wrong role, or not allowed in this status)."""
    wanted = [role for act, role in allowed_actions(state, flow) if act == action]
    fallback = staff.roles[0] if staff.roles else ""
    return next((role for role in wanted if role in staff.roles), fallback)


def act(session: Session, site: str, staff: Staff, case_id: uuid.UUID, action: Action,
        comment: str, now: datetime | None = None, *, applicant_note: str = "") -> Case:
    """A staff member takes an action; 409 with the reason when the flow does not allow it
    or separation of duties forbids this person to decide (403 for a supervisor).

    ``comment`` is internal (the flow requires one to refuse, deny, suspend or request a
    correction); only ``applicant_note`` reaches the applicant's tracking page."""
    now = now or utcnow()
    if SUPERVISOR in staff.roles:
        raise ApiError(403, "supervisor_cannot_act",
                       "监察室人员不能办理案件（受理、审查、决定、办结等）。"
                       "Supervisors (监察室) watch cases and cannot act on them.")
    case = session.scalars(select(Case).where(Case.id == case_id).with_for_update()).first()
    if case is None or not _in_scope(staff, case):
        raise not_found(f"case {case_id}")
    flow = flow_of(session, case)
    role = _role_for(staff, state_of(case), action, flow)
    try:
        before = _move(session, case, action, role, comment, today(now))
    except WrongRole as exc:
        raise ApiError(403, "wrong_role", exc.reason) from exc
    except IllegalTransition as exc:
        raise ApiError(409, "illegal_transition", exc.reason) from exc
    if action in _DECISIONS:  # a legal move: may this person make it? (raising rolls back)
        _check_separation(session, site, staff, case, action)
    _event(session, site, case, staff.username, role, action.value, before, comment, now,
           applicant_note)
    if action in (Action.grant, Action.deny):  # 准予 / 不予行政许可决定书, for the applicant
        licence_decision.issue(session, site, case, actor=staff.username, role=role,
                               reason=applicant_note or comment, decided_on=today(now),
                               now=now)
    return case


_DECISIONS = frozenset({Action.grant, Action.deny, Action.refuse})


def _check_separation(session: Session, site: str, staff: Staff, case: Case,
                      action: Action) -> None:
    """岗位分离: refuse a decision by the person who accepted the case when the site's rules
    say ``policy: refuse`` (under ``policy: light`` it is allowed and the case lights red)."""
    item = session.get(Item, (case.item_code, case.item_version))
    assert item is not None
    facts = lights.case_facts(case, lights.item_facts(item.category, item.doc),
                              history(session, case), ())
    hit = separation_refusal(in_force(session, site).rules, facts, staff.username, action)
    if hit is not None:
        raise ApiError(409, "separation_of_duties",
                       f"岗位分离：{staff.username} 已受理本案，不能再作出决定"
                       f"（规则 {hit.rule_id}：{hit.text}）。Separation of duties: "
                       f"{staff.username} accepted this case and may not decide it "
                       f"(rule {hit.rule_id}); another approver must decide.")


def _in_scope(staff: Staff, case: Case) -> bool:
    """Staff see their department's cases; admins every case; supervisors (read only) the
    cases of the departments they cover (:meth:`Staff.watches`)."""
    return staff.watches(case.department) or (
        SUPERVISOR not in staff.roles and staff.department == case.department)


def _seen(staff: Staff, case: Case | None, what: str) -> Case:
    """``case`` if ``staff`` may see it: 404 when missing or another department's, 403
    naming the coverage for a supervisor's case outside it."""
    if case is not None and staff.is_supervisor and not _in_scope(staff, case):
        require_watch(staff, case.department, f"{what} ({case.receipt})")
    if case is None or not _in_scope(staff, case):
        raise not_found(what)
    return case


#: Statuses whose actions are the current step's role's (``flow[step_index].role``) ...
STEP_ROLE_STATUSES = (CaseStatus.submitted, CaseStatus.in_review,
                      CaseStatus.awaiting_decision, CaseStatus.decided)
#: ... and those with an action of the deciding step's role (``flow[-2].role``: suspend,
#: resume); see :func:`sunlight.workflow.machine.allowed_actions`.
DECIDER_ROLE_STATUSES = (CaseStatus.in_review, CaseStatus.awaiting_decision,
                         CaseStatus.suspended)


def waiting_for(roles: tuple[str, ...]) -> ColumnElement[bool]:
    """SQL: the case (joined to its item) waits for one of ``roles`` — the role of its
    current step, or the decider's for suspend and resume, read from the item's flow."""
    flow = Item.doc["flow"]
    step_role = (flow.op("->", return_type=JSONB)(cast(Case.step_index, Integer))
                 .op("->>", return_type=String)("role"))
    decider_role = flow.op("->", return_type=JSONB)(-2).op("->>", return_type=String)("role")
    return or_(and_(Case.status.in_([s.value for s in STEP_ROLE_STATUSES]),
                    step_role.in_(roles)),
               and_(Case.status.in_([s.value for s in DECIDER_ROLE_STATUSES]),
                    decider_role.in_(roles)))


def queue(session: Session, staff: Staff, limit: int) -> list[tuple[Case, list[str]]]:
    """Open cases of the staff member's department that wait for one of their roles: the
    filter is in SQL, so every such case is found however many others are open."""
    stmt = (select(Case)
            .join(Item, and_(Item.code == Case.item_code, Item.version == Case.item_version))
            .where(Case.status.in_(OPEN_STATUSES), waiting_for(staff.roles))
            .order_by(Case.due_on, Case.receipt).limit(limit))
    if not staff.is_admin:
        stmt = stmt.where(Case.department == staff.department)
    found: list[tuple[Case, list[str]]] = []
    flows: dict[tuple[str, int], list[FlowStep]] = {}
    for case in session.scalars(stmt):
        key = (case.item_code, case.item_version)
        flow = flows.setdefault(key, flow_of(session, case))
        mine = [a.value for a, role in allowed_actions(state_of(case), flow)
                if role in staff.roles]
        if mine:
            found.append((case, mine))
    return found


def get(session: Session, staff: Staff, case_id: uuid.UUID) -> Case:
    return _seen(staff, session.get(Case, case_id), f"case {case_id}")


def by_receipt(session: Session, staff: Staff, receipt: str) -> Case:
    case = session.scalars(select(Case).where(Case.receipt == receipt)).first()
    return _seen(staff, case, f"case with receipt {receipt}")


def history(session: Session, case: Case) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    return list(session.scalars(stmt))


def mark_overdue(session: Session, site: str, on: date | None = None, *,
                 now: datetime | None = None, limit: int | None = None) -> int:
    """Flag cases whose clock runs past their due date on ``on`` (``now``'s date in China);
    each flag is audited and sent out. At most ``limit`` cases (a batch of the tick)."""
    now = now or utcnow()
    on = on or today(now)
    running = [s.value for s in CaseStatus if clock_running(s)]
    stmt = (select(Case).where(Case.overdue.is_(False), Case.status.in_(running),
                               Case.due_on < on).order_by(Case.due_on)
            .with_for_update(skip_locked=True))
    if limit is not None:
        stmt = stmt.limit(limit)
    count = 0
    for case in session.scalars(stmt):
        case.overdue = True
        _event(session, site, case, "system", "system", "overdue", case.status,
               f"due {case.due_on.isoformat()}, not finished", now)
        count += 1
    return count
