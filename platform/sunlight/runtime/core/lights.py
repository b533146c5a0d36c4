"""Lights on the cases of this site (电子监察亮灯): evaluated on every transition and by a tick.

A case's light is :func:`sunlight.supervision.evaluate.evaluate` of its facts under the
rules in force (:mod:`sunlight.runtime.core.supervision_rules`) at the clock's ``now``.
:func:`case_facts` builds the facts from the rows — the case, its item (flow, category) and
its recorded events — and is pure, so it is tested without a database. When the light or
the set of rules that fired changes, :func:`record` (in the caller's transaction) updates
``case_lights``, appends to ``case_light_history``, writes an audit record naming the rule
ids, and (at a city or county) queues ``sunlight.case.light`` for the parent — outside the
per-case sequence of case events. A red rule with ``auto_order`` issues a 督办 order the
first time it fires on a case (``supervision.auto_order``).

:func:`assess` and :func:`store` are called by :mod:`sunlight.runtime.core.cases` for
every transition, in its transaction (the case row is locked there): the evaluation before
the transition takes the audit chain's lock, the writes after. :func:`tick` re-evaluates every open
case because lights change with time alone: in batches of :data:`BATCH` cases, one
transaction each, ``FOR UPDATE SKIP LOCKED`` (a case being moved right now is evaluated by
its transition), every batch evaluated before anything is written, so the audit chain's
lock is held only for the writes of one batch.

Example::

    >>> done = tick(engine, "320703", now=clock.now())  # doctest: +SKIP
    >>> done.evaluated, done.changed  # doctest: +SKIP
    (1200, 14)
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from sunlight.catalogue.flow import FlowStep
from sunlight.runtime.core import supervision
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import (
    Case,
    CaseEvent,
    CaseLight,
    CaseLightChange,
    CaseMaterial,
    Item,
)
from sunlight.runtime.core.supervision_rules import InForce, in_force
from sunlight.runtime.db import transaction
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.schemas import CASE_LIGHT
from sunlight.supervision.evaluate import Hit, Light, Verdict, evaluate
from sunlight.supervision.facts import CHINA, CaseFacts, Move, china_date, pauses_from_history
from sunlight.topology.division import expected_parent
from sunlight.workflow.machine import Action, CaseStatus

__all__ = ["BATCH", "OPEN_STATUSES", "Assessed", "ItemFacts", "TickResult", "assess",
           "case_facts", "item_facts", "open_counts", "record", "reevaluate", "store", "tick"]

#: Cases per transaction of the tick.
BATCH = 500
OPEN_STATUSES = tuple(s.value for s in CaseStatus
                      if s not in (CaseStatus.refused, CaseStatus.closed))
_ACTIONS = frozenset(a.value for a in Action)


class CaseRow(Protocol):
    """What :func:`case_facts` reads of a ``cases`` row."""

    @property
    def item_code(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def submitted_on(self) -> date: ...
    @property
    def limit_days(self) -> int: ...
    @property
    def created_at(self) -> datetime | None: ...


class EventRow(Protocol):
    """What :func:`case_facts` reads of a ``case_events`` row."""

    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def to_status(self) -> str: ...


@dataclass(frozen=True)
class ItemFacts:
    """What the rules need of a power item version: category, flow, required materials."""

    category: str
    flow: tuple[FlowStep, ...]
    required_materials: tuple[str, ...]


def item_facts(category: str, doc: Mapping[str, Any]) -> ItemFacts:
    """From an ``items`` row: its category and document (the catalogue model as JSON)."""
    flow = tuple(FlowStep.model_validate(step) for step in doc["flow"])
    required = tuple(str(m["name"]) for m in doc.get("materials", ())
                     if m.get("required", True))
    return ItemFacts(category, flow, required)


def case_facts(case: CaseRow, item: ItemFacts, events: Iterable[EventRow],
               materials: Collection[str]) -> CaseFacts:
    """A case's facts from its rows: the events are its recorded history in order (the
    submission and system marks such as ``overdue`` are not moves), ``materials`` the
    names of the materials it holds — all received before acceptance, since materials
    arrive only with a submission or a resubmission (补正), both before acceptance."""
    moves = tuple(Move(at=e.at, actor=e.actor, role=e.role, action=Action(e.action),
                       to_status=CaseStatus(e.to_status))
                  for e in events if e.action in _ACTIONS)
    corrections, suspensions = pauses_from_history(moves)
    accepted = any(m.action is Action.accept for m in moves)
    missing = tuple(name for name in item.required_materials
                    if accepted and name not in materials)
    return CaseFacts(item_code=case.item_code, category=item.category,  # type: ignore[arg-type]
                     promised_limit_days=case.limit_days, flow=item.flow,
                     submitted_at=_submitted_at(case), status=case.status,  # type: ignore[arg-type]
                     history=moves, missing_at_acceptance=missing, corrections=corrections,
                     suspensions=suspensions)


def _submitted_at(case: CaseRow) -> datetime:
    """When the case's clock started: its arrival, on the submission day the workflow uses."""
    created = case.created_at
    if created is not None and created.tzinfo is not None \
            and china_date(created) == case.submitted_on:
        return created
    return datetime.combine(case.submitted_on, time(9), tzinfo=CHINA)


def hits_doc(hits: Iterable[Hit]) -> list[dict[str, str]]:
    """The fired rules as stored and sent: id, light, Chinese text, what the rule saw."""
    return [{"rule_id": h.rule_id, "light": h.light.value, "text": h.text, "detail": h.detail}
            for h in hits]


def changed(current: CaseLight | None, verdict: Verdict) -> bool:
    """Whether the light or the set of rules that fired differs from what is stored."""
    before = (current.light, tuple(current.rule_ids)) if current else (Light.none.value, ())
    return before != (verdict.light.value, verdict.rule_ids)


@dataclass
class TickResult:
    """What one tick (or one transition) did."""

    evaluated: int = 0
    changed: int = 0
    lights: dict[str, int] = field(default_factory=dict)

    def add(self, other: TickResult) -> None:
        self.evaluated += other.evaluated
        self.changed += other.changed
        for light, n in other.lights.items():
            self.lights[light] = self.lights.get(light, 0) + n


@dataclass(frozen=True)
class _Evaluated:
    case: Case
    current: CaseLight | None
    verdict: Verdict


class _Items:
    """Item facts by (code, version), parsed once per tick or transition."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[str, int], ItemFacts] = {}

    def of(self, case: Case) -> ItemFacts:
        key = (case.item_code, case.item_version)
        found = self.cache.get(key)
        if found is None:
            item = self.session.get(Item, key)
            assert item is not None, f"case {case.receipt} refers to a missing item"
            found = self.cache[key] = item_facts(item.category, item.doc)
        return found


def _evaluate(session: Session, cases: Sequence[Case], rules: InForce, now: datetime,
              items: _Items) -> list[_Evaluated]:
    """Evaluate ``cases`` (locked by the caller) with a constant number of queries."""
    ids = [c.id for c in cases]
    events: dict[uuid.UUID, list[CaseEvent]] = {i: [] for i in ids}
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids))
                                 .order_by(CaseEvent.case_id, CaseEvent.id)):
        events[event.case_id].append(event)
    materials: dict[uuid.UUID, set[str]] = {i: set() for i in ids}
    for case_id, name in session.execute(select(CaseMaterial.case_id, CaseMaterial.name)
                                         .where(CaseMaterial.case_id.in_(ids))):
        materials[case_id].add(name)
    current = {row.case_id: row for row in session.scalars(
        select(CaseLight).where(CaseLight.case_id.in_(ids)))}
    return [_Evaluated(case, current.get(case.id),
                       evaluate(case_facts(case, items.of(case), events[case.id],
                                           materials[case.id]), rules.rules, now=now))
            for case in cases]


def record(session: Session, site: str, case: Case, current: CaseLight | None,
           verdict: Verdict, now: datetime, trigger: str,
           revision: int | None) -> CaseLight:
    """Store ``verdict`` for ``case``: on a change, the history, the audit record and the
    event for the parent too; issue the automatic orders not issued yet."""
    is_change = changed(current, verdict)
    hits = hits_doc(verdict.hits)
    if current is None:
        current = CaseLight(case_id=case.id, light=Light.none.value, rule_ids=[], hits=[],
                            changes=0, auto_ordered=[], changed_at=now, updated_at=now)
        session.add(current)
    previous = current.light
    if is_change:
        current.changes += 1
        current.light, current.rule_ids = verdict.light.value, list(verdict.rule_ids)
        current.changed_at = now
        session.add(CaseLightChange(case_id=case.id, change=current.changes,
                                    from_light=previous, to_light=verdict.light.value,
                                    rule_ids=list(verdict.rule_ids), hits=hits,
                                    trigger=trigger[:32], at=now))
        audit(session, site, actor="system", role="supervision", entity="case",
              entity_id=case.receipt, action="light", from_state=previous,
              to_state=verdict.light.value,
              comment=f"{verdict.light.zh}：{', '.join(verdict.rule_ids) or '无规则触发'} "
                      f"({trigger})")
        _report_up(session, site, case, current, previous, hits, now)
    if is_change or current.hits != hits or current.rules_revision != revision:
        current.hits, current.rules_revision, current.updated_at = hits, revision, now
    _auto_orders(session, site, case, current, verdict, now)
    return current


def _auto_orders(session: Session, site: str, case: Case, current: CaseLight,
                 verdict: Verdict, now: datetime) -> None:
    """A red rule with ``auto_order`` issues a 督办 order the first time it fires on a case."""
    new = tuple(hit for hit in verdict.auto_orders if hit.rule_id not in current.auto_ordered)
    if not new:
        return
    supervision.auto_order(session, site, case, new, now)
    current.auto_ordered = [*current.auto_ordered, *(hit.rule_id for hit in new)]


def _report_up(session: Session, site: str, case: Case, light: CaseLight, previous: str,
               hits: list[dict[str, str]], now: datetime) -> None:
    """Queue the change for the parent (a province has nobody to report to)."""
    parent = expected_parent(site)
    if parent is None:
        return
    data = {"receipt": case.receipt, "department": case.department,
            "item_code": case.item_code, "status": case.status, "light": light.light,
            "previous": previous, "rule_ids": list(light.rule_ids),
            "hits": [{**h, "detail": h["detail"][:500]} for h in hits[:100]],
            "change": light.changes, "at": now.isoformat()}
    # No ``subject``: that names a case event's receipt in its sequence; a light is outside.
    outbox.enqueue(session, parent, Envelope.new(site, CASE_LIGHT, data, time=now))


@dataclass(frozen=True)
class Assessed:
    """A case evaluated and not stored yet (:func:`assess`, then :func:`store`)."""

    done: _Evaluated
    revision: int | None


def assess(session: Session, site: str, case: Case, now: datetime) -> Assessed:
    """Evaluate one case just moved, in the transition's transaction, writing nothing: the
    transition evaluates before it takes the audit chain's lock, and stores after."""
    rules = in_force(session, site)
    (done,) = _evaluate(session, [case], rules, now, _Items(session))
    return Assessed(done, rules.revision)


def store(session: Session, site: str, assessed: Assessed, now: datetime,
          trigger: str) -> CaseLight:
    """Store what :func:`assess` found (see :func:`record`)."""
    done = assessed.done
    return record(session, site, done.case, done.current, done.verdict, now, trigger,
                  assessed.revision)


def reevaluate(session: Session, site: str, case: Case, now: datetime,
               trigger: str) -> CaseLight:
    """Evaluate one case just moved (in the transition's transaction) and store the result."""
    return store(session, site, assess(session, site, case, now), now, trigger)


def _batch(session: Session, site: str, after: uuid.UUID | None, size: int, now: datetime,
           items: _Items) -> tuple[TickResult, uuid.UUID | None, int]:
    stmt = select(Case).where(Case.status.in_(OPEN_STATUSES))
    if after is not None:
        stmt = stmt.where(Case.id > after)
    cases = list(session.scalars(stmt.order_by(Case.id).limit(size)
                                 .with_for_update(skip_locked=True)))
    if not cases:
        return TickResult(), None, 0
    rules = in_force(session, site)
    items.session = session
    evaluated = _evaluate(session, cases, rules, now, items)
    result = TickResult(evaluated=len(evaluated))
    for done in evaluated:  # the writes (and the chain's lock) come after every evaluation
        if changed(done.current, done.verdict):
            result.changed += 1
            result.lights[done.verdict.light.value] = (
                result.lights.get(done.verdict.light.value, 0) + 1)
        record(session, site, done.case, done.current, done.verdict, now, "tick",
               rules.revision)
    return result, cases[-1].id, len(cases)


def tick(engine: Engine, site: str, now: datetime, batch: int = BATCH) -> TickResult:
    """Re-evaluate every open case at ``now``, ``batch`` cases per transaction."""
    total = TickResult()
    after: uuid.UUID | None = None
    items: _Items | None = None
    while True:
        with transaction(engine) as session:
            items = items or _Items(session)
            result, after, seen = _batch(session, site, after, batch, now, items)
        total.add(result)
        if seen < batch or after is None:
            return total


def open_counts(session: Session) -> list[tuple[str, str, str, int]]:
    """Open cases by (light, department, item code); a case not evaluated yet counts as
    ``none`` (green)."""
    light = func.coalesce(CaseLight.light, Light.none.value)
    stmt = (select(light, Case.department, Case.item_code, func.count())
            .select_from(Case).outerjoin(CaseLight, CaseLight.case_id == Case.id)
            .where(Case.status.in_(OPEN_STATUSES))
            .group_by(light, Case.department, Case.item_code)
            .order_by(Case.department, Case.item_code, light))
    return [(str(lit), str(dept), str(item), int(n)) for lit, dept, item, n in
            session.execute(stmt)]
