"""A case's light under a rule set: which rules fire, as a pure function of facts and time.

:func:`evaluate` checks every rule whose scope covers the case against its
:class:`~sunlight.supervision.facts.CaseFacts` at ``now`` and returns a :class:`Verdict`:
the light (``none``, ``yellow`` = 预警, ``red`` = 报警; red beats yellow) and the rules
that fired, in rule-file order, each with its Chinese text and a detail line. The clock is
always passed in (``now``, an aware datetime), never read, so lights change with time only
when the caller advances it, and the same inputs always give the same verdict.

Time is counted exactly as the workflow counts it (:mod:`sunlight.workflow.deadlines`): the
promised limit in working days from the day of submission (not counted), with China's
holidays and adjusted working days (调休), extended by the working days of every 补正 and
suspension. Once the case is decided or refused, time is measured at that decision.

:func:`separation_refusal` answers the question core asks before a decision: does the
site's separation-of-duties policy (``same_person_accepts_and_decides`` with
``policy: refuse``) forbid this person to decide?

:func:`evaluate_override` lights an enforcement case (执法办案) whose legal review approved
an amount outside the discretion band: the ``discretion_override`` rules in scope fire, with
the written justification as the detail. It takes plain values (item, category,
justification), not the enforcement records, and does not depend on time: an override,
once recorded, stays.

Example::

    >>> from datetime import datetime, timedelta, timezone
    >>> from sunlight.catalogue.flow import FlowStep
    >>> from sunlight.supervision.facts import CaseFacts
    >>> from sunlight.supervision.rules import default_rules
    >>> flow = (FlowStep(kind="accept", name="受理", role="clerk", limit_days=1),
    ...         FlowStep(kind="review", name="审查", role="reviewer", limit_days=5),
    ...         FlowStep(kind="decide", name="决定", role="approver", limit_days=2),
    ...         FlowStep(kind="close", name="办结", role="clerk", limit_days=1))
    >>> cst = timezone(timedelta(hours=8))
    >>> facts = CaseFacts(item_code="320703-SCJGJ-XK-001", category="licence",
    ...                   promised_limit_days=5, flow=flow, status="submitted",
    ...                   submitted_at=datetime(2024, 9, 27, 9, 0, tzinfo=cst))
    >>> rules = default_rules("320703")
    >>> evaluate(facts, rules, now=datetime(2024, 10, 7, 18, 0, tzinfo=cst)).light  # 国庆
    <Light.none: 'none'>
    >>> verdict = evaluate(facts, rules, now=datetime(2024, 10, 8, 9, 0, tzinfo=cst))
    >>> verdict.light, verdict.rule_ids
    (<Light.yellow: 'yellow'>, ('TIME-WARN',))
    >>> verdict.hits[0].detail
    '承诺办结日 2024-10-10，剩余 2 个工作日'
    >>> evaluate(facts, rules, now=datetime(2024, 10, 11, 9, 0, tzinfo=cst)).rule_ids
    ('TIME-WARN', 'TIME-OVERDUE')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property

from sunlight.catalogue.model import Category
from sunlight.supervision.conditions import (
    Condition,
    DiscretionOverride,
    LongSuspension,
    MaterialsMissingAtAcceptance,
    OffFlow,
    RepeatedCorrection,
    SamePersonAcceptsAndDecides,
    TimeUsed,
    TooFast,
)
from sunlight.supervision.facts import CaseFacts, Move, china_date
from sunlight.supervision.rules import Rule, RuleSet
from sunlight.workflow.deadlines import (
    due_date,
    is_overdue,
    remaining_working_days,
    working_days_between,
)
from sunlight.workflow.machine import (
    ACTION_LABELS,
    STATUS_LABELS,
    Action,
    CaseStatus,
    IllegalTransition,
    initial_state,
    transition,
)

__all__ = ["Deadline", "Hit", "Light", "Verdict", "deadline", "evaluate", "evaluate_override",
           "separation_refusal"]

#: Statuses after which the clock has stopped for good: time is measured at the decision.
_FINISHED = frozenset({CaseStatus.decided, CaseStatus.closed, CaseStatus.refused})
_DECISIONS = frozenset({Action.grant, Action.deny, Action.refuse})
#: The action that completes each kind of flow step.
_COMPLETES: dict[str, frozenset[Action]] = {
    "accept": frozenset({Action.accept}),
    "review": frozenset({Action.approve_step}),
    "decide": frozenset({Action.grant, Action.deny}),
    "close": frozenset({Action.close}),
}
_STEP_LABELS = {"accept": "受理", "review": "审查", "decide": "决定", "close": "办结"}
#: The machine checks comments; a recorded move's comment is not supervision's business.
_RECORDED = "(recorded)"


class Light(StrEnum):
    """A case's light: none (green, 正常), yellow (预警) or red (报警)."""

    none = "none"
    yellow = "yellow"
    red = "red"

    @property
    def zh(self) -> str:
        """The name users know."""
        return {"none": "正常", "yellow": "预警", "red": "报警"}[self.value]

    @property
    def rank(self) -> int:
        """0, 1, 2: a higher rank wins."""
        return ("none", "yellow", "red").index(self.value)


@dataclass(frozen=True)
class Hit:
    """One rule that fired: its id, light and Chinese text, and what it saw (``detail``)."""

    rule_id: str
    light: Light
    text: str
    detail: str
    auto_order: bool = False


@dataclass(frozen=True)
class Verdict:
    """A case's light and the rules that fired, in rule-file order."""

    light: Light
    hits: tuple[Hit, ...] = ()

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The ids of the rules that fired."""
        return tuple(hit.rule_id for hit in self.hits)

    @property
    def auto_orders(self) -> tuple[Hit, ...]:
        """The red hits whose rule issues a 督办 order by itself."""
        return tuple(hit for hit in self.hits if hit.auto_order and hit.light is Light.red)


@dataclass(frozen=True)
class Deadline:
    """Where a case stands against its promised limit on ``as_of``."""

    due: date
    as_of: date
    remaining: int
    overdue: bool


def deadline(facts: CaseFacts, now: datetime) -> Deadline:
    """The case's due date and working days left, as the workflow counts them.

    ``as_of`` is ``now``'s date in China, or the day of the decision (grant, deny, refuse)
    once the case is decided or refused. An open pause counts up to ``as_of``.
    """
    as_of = china_date(now)
    if facts.status in _FINISHED:
        decided = [m for m in facts.history if m.action in _DECISIONS]
        if decided:
            as_of = china_date(decided[-1].at)
    due = due_date(facts.submitted_on, facts.promised_limit_days, facts.pauses, today=as_of)
    return Deadline(due=due, as_of=as_of, remaining=remaining_working_days(due, as_of),
                    overdue=is_overdue(due, as_of))


def evaluate(facts: CaseFacts, rules: RuleSet, *, now: datetime) -> Verdict:
    """The case's light at ``now`` (aware) under ``rules``: deterministic, red beats yellow."""
    case = _Case(facts, now)
    hits: list[Hit] = []
    for rule in rules.rules:
        if not rule.applies_to(facts.item_code, facts.category):
            continue
        detail = case.check(rule.condition)
        if detail is not None:
            hits.append(_hit(rule, detail))
    light = max((hit.light for hit in hits), key=lambda lit: lit.rank, default=Light.none)
    return Verdict(light=light, hits=tuple(hits))


def evaluate_override(item_code: str, category: Category | str, justification: str,
                      rules: RuleSet) -> Verdict:
    """The light of an enforcement case of ``item_code`` (``category``) whose legal review
    approved an amount outside its band with ``justification``: the ``discretion_override``
    rules whose scope covers it (none in scope: no light).

    Example::

        >>> from sunlight.supervision.rules import default_rules
        >>> verdict = evaluate_override("320703-SCJGJ-CF-001", "penalty", "情节特别严重，从重",
        ...                             default_rules("320703"))
        >>> verdict.light, verdict.rule_ids, verdict.hits[0].detail
        (<Light.red: 'red'>, ('DISCRETION-OVERRIDE',), '法制审核书面理由：情节特别严重，从重')
    """
    kind = Category(category)
    hits = tuple(_hit(rule, f"法制审核书面理由：{justification.strip()}")
                 for rule in rules.rules
                 if isinstance(rule.condition, DiscretionOverride)
                 and rule.applies_to(item_code, kind))
    light = max((hit.light for hit in hits), key=lambda lit: lit.rank, default=Light.none)
    return Verdict(light=light, hits=hits)


def separation_refusal(rules: RuleSet, facts: CaseFacts, actor: str,
                       action: Action | str) -> Hit | None:
    """The rule that forbids ``actor`` to take ``action`` now, or ``None``.

    Only a decision (grant, deny) by someone who accepted the case can be forbidden, and only
    by a ``same_person_accepts_and_decides`` rule in scope with ``policy: refuse``; under
    ``policy: light`` the decision is allowed and the case lights instead.
    """
    if Action(action) not in _COMPLETES["decide"]:
        return None
    if actor not in {m.actor for m in facts.history if m.action is Action.accept}:
        return None
    for rule in rules.rules:
        condition = rule.condition
        if (isinstance(condition, SamePersonAcceptsAndDecides) and condition.policy == "refuse"
                and rule.applies_to(facts.item_code, facts.category)):
            return _hit(rule, f"{actor} 已受理本案，不能再作出决定")
    return None


def _hit(rule: Rule, detail: str) -> Hit:
    return Hit(rule_id=rule.id, light=Light(rule.light), text=rule.text, detail=detail,
               auto_order=rule.auto_order)


class _Case:
    """One case at one instant; what several rules need is worked out once."""

    def __init__(self, facts: CaseFacts, now: datetime) -> None:
        self.facts = facts
        self.now = now
        self.today = china_date(now)

    @cached_property
    def deadline(self) -> Deadline:
        return deadline(self.facts, self.now)

    @cached_property
    def off_flow(self) -> str | None:
        return _off_flow(self.facts)

    def check(self, condition: Condition) -> str | None:
        """The detail line if ``condition`` holds, else ``None``."""
        facts = self.facts
        if isinstance(condition, TimeUsed):
            return _time_used(condition, self.deadline, facts.promised_limit_days)
        if isinstance(condition, OffFlow):
            return self.off_flow
        if isinstance(condition, MaterialsMissingAtAcceptance):
            missing = facts.missing_at_acceptance
            return f"受理时缺少：{'、'.join(missing)}" if missing else None
        if isinstance(condition, SamePersonAcceptsAndDecides):
            return _same_person(facts.history)
        if isinstance(condition, TooFast):
            return _too_fast(condition, facts.history)
        if isinstance(condition, RepeatedCorrection):
            count = len(facts.corrections)
            return f"已要求补正 {count} 次" if count > condition.max_requests else None
        if isinstance(condition, LongSuspension):
            return _long_suspension(condition, facts.suspensions, self.today)
        if isinstance(condition, DiscretionOverride):
            return None  # an application case has no discretion override: evaluate_override
        raise AssertionError(f"unhandled condition {condition!r}")  # pragma: no cover


def _time_used(condition: TimeUsed, where: Deadline, limit: int) -> str | None:
    due = where.due.isoformat()
    if condition.overdue:
        if not where.overdue:
            return None
        late = f" {-where.remaining} 个工作日" if where.remaining < 0 else ""
        return f"承诺办结日 {due}，已超期{late}"
    by_days = condition.remaining_days is not None and where.remaining <= condition.remaining_days
    by_share = (condition.remaining_percent is not None
                and where.remaining * 100 <= condition.remaining_percent * limit)
    if not (by_days or by_share):
        return None
    if where.overdue:
        return f"承诺办结日 {due}，已超期"
    return f"承诺办结日 {due}，剩余 {where.remaining} 个工作日"


def _off_flow(facts: CaseFacts) -> str | None:
    """Replay the moves through the state machine; the first that does not fit, described."""
    flow = list(facts.flow)
    state = initial_state(flow)
    for number, move in enumerate(facts.history, start=1):
        label = f"第 {number} 步「{ACTION_LABELS[move.action]}」（{move.actor}，{move.role}）"
        try:
            state = transition(state, move.action, move.role, flow, _RECORDED)
        except IllegalTransition as exc:
            return f"{label}不符合事项流程：{exc.reason}"
        if move.to_status is not None and move.to_status is not state.status:
            return (f"{label}记录的状态为{STATUS_LABELS[move.to_status]}，"
                    f"按流程应为{STATUS_LABELS[state.status]}")
        if move.step_index is not None and move.step_index != state.step_index:
            return (f"{label}记录的环节为第 {move.step_index + 1} 环节，"
                    f"按流程应为第 {state.step_index + 1} 环节「{flow[state.step_index].name}」")
    if facts.status is not state.status:
        return (f"案件状态为{STATUS_LABELS[facts.status]}，"
                f"按已记录的办理步骤应为{STATUS_LABELS[state.status]}")
    return None


def _same_person(history: Sequence[Move]) -> str | None:
    acceptors = {m.actor for m in history if m.action is Action.accept}
    for move in history:
        if move.action in _COMPLETES["decide"] and move.actor in acceptors:
            return f"{move.actor} 既受理又作出决定（{ACTION_LABELS[move.action]}）"
    return None


def _too_fast(condition: TooFast, history: Sequence[Move]) -> str | None:
    first = next((i for i, m in enumerate(history)
                  if m.action in _COMPLETES[condition.from_step]), None)
    if first is None:
        return None
    end = next((m for m in history[first + 1:] if m.action in _COMPLETES[condition.to_step]),
               None)
    if end is None:
        return None
    took = end.at - history[first].at
    if took >= timedelta(minutes=condition.minutes):
        return None
    minutes = int(took.total_seconds() // 60)
    return (f"{_STEP_LABELS[condition.from_step]}至{_STEP_LABELS[condition.to_step]}"
            f"用时 {minutes} 分钟（少于 {condition.minutes} 分钟）")


def _long_suspension(condition: LongSuspension, suspensions: Sequence[tuple[date, date | None]],
                     today: date) -> str | None:
    for stopped, restarted in suspensions:
        days = working_days_between(stopped, restarted or max(today, stopped))
        if days > condition.days:
            state = "至今" if restarted is None else f"至 {restarted.isoformat()}"
            return f"自 {stopped.isoformat()} 中止{state}，共 {days} 个工作日"
    return None
