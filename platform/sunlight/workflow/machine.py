"""The case state machine: which action may move a case, by whom, to where.

A case follows its power item's flow (:class:`~sunlight.catalogue.flow.FlowStep` list:
accept → review+ → decide → close). The flow fixes the staff role acting at each step, so
a reviewer cannot accept, a clerk cannot decide, and steps cannot be skipped — the
"wrong flow" and "steps out of order" that e-supervision must never see.

Statuses and moves (who acts: the role of the flow step named in brackets)::

    submitted            --accept [accept]---------> in_review at the first review step
    submitted            --refuse [accept]---------> refused (terminal; comment needed)
    submitted            --request_correction [accept]-> correction_requested (comment)
    correction_requested --resubmit [applicant]----> submitted
    in_review            --approve_step [review]---> in_review at the next review step,
                                                     or awaiting_decision after the last
    awaiting_decision    --grant / deny [decide]---> decided (deny needs a comment)
    decided              --close [close]-----------> closed (terminal)
    in_review, awaiting_decision --suspend [decide]-> suspended (comment needed)
    suspended            --resume [decide]---------> back to the same status and step

``CaseState.step_index`` is the flow step whose role acts next: the accept step (0) while
submitted, correction_requested or refused; the current review step while in_review; the
decide step while awaiting_decision or suspended (the decider suspends and resumes); the
close step while decided or closed.

Example::

    >>> from sunlight.catalogue.flow import FlowStep
    >>> flow = [FlowStep(kind="accept", name="受理", role="clerk", limit_days=1),
    ...         FlowStep(kind="review", name="审查", role="reviewer", limit_days=5),
    ...         FlowStep(kind="decide", name="决定", role="approver", limit_days=2),
    ...         FlowStep(kind="close", name="办结", role="clerk", limit_days=1)]
    >>> state = transition(initial_state(flow), Action.accept, "clerk", flow)
    >>> state.status, state.step_index
    (<CaseStatus.in_review: 'in_review'>, 1)
    >>> [(action.value, role) for action, role in allowed_actions(state, flow)]
    [('approve_step', 'reviewer'), ('suspend', 'approver')]
    >>> try:
    ...     transition(state, Action.grant, "approver", flow)
    ... except IllegalTransition as exc:
    ...     print(exc.reason)
    cannot grant a case that is in_review; allowed: approve_step (reviewer), suspend (approver)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from sunlight.catalogue.flow import FlowStep, validate_flow

__all__ = [
    "ACTION_LABELS",
    "APPLICANT_ROLE",
    "STATUS_LABELS",
    "TERMINAL_STATUSES",
    "Action",
    "CaseState",
    "CaseStatus",
    "CommentRequired",
    "IllegalTransition",
    "WrongRole",
    "allowed_actions",
    "clock_running",
    "initial_state",
    "transition",
]

#: The role name of the applicant (citizen or enterprise) acting from the service hall.
APPLICANT_ROLE = "applicant"


class CaseStatus(StrEnum):
    """Where a case is."""

    submitted = "submitted"
    correction_requested = "correction_requested"
    refused = "refused"
    in_review = "in_review"
    awaiting_decision = "awaiting_decision"
    decided = "decided"
    closed = "closed"
    suspended = "suspended"


class Action(StrEnum):
    """What someone does to a case."""

    accept = "accept"
    refuse = "refuse"
    request_correction = "request_correction"
    resubmit = "resubmit"
    approve_step = "approve_step"
    grant = "grant"
    deny = "deny"
    close = "close"
    suspend = "suspend"
    resume = "resume"


#: The names users know, for UI text and reports.
STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.submitted: "待受理",
    CaseStatus.correction_requested: "待补正",
    CaseStatus.refused: "不予受理",
    CaseStatus.in_review: "审查中",
    CaseStatus.awaiting_decision: "待决定",
    CaseStatus.decided: "已决定",
    CaseStatus.closed: "已办结",
    CaseStatus.suspended: "已中止",
}
ACTION_LABELS: dict[Action, str] = {
    Action.accept: "受理",
    Action.refuse: "不予受理",
    Action.request_correction: "补正告知",
    Action.resubmit: "补正提交",
    Action.approve_step: "审查通过",
    Action.grant: "准予",
    Action.deny: "不予",
    Action.close: "办结",
    Action.suspend: "中止",
    Action.resume: "恢复",
}

TERMINAL_STATUSES = frozenset({CaseStatus.refused, CaseStatus.closed})
_CLOCK_RUNNING = frozenset(
    {CaseStatus.submitted, CaseStatus.in_review, CaseStatus.awaiting_decision}
)
_LEGAL: dict[CaseStatus, tuple[Action, ...]] = {
    CaseStatus.submitted: (Action.accept, Action.refuse, Action.request_correction),
    CaseStatus.correction_requested: (Action.resubmit,),
    CaseStatus.refused: (),
    CaseStatus.in_review: (Action.approve_step, Action.suspend),
    CaseStatus.awaiting_decision: (Action.grant, Action.deny, Action.suspend),
    CaseStatus.decided: (Action.close,),
    CaseStatus.closed: (),
    CaseStatus.suspended: (Action.resume,),
}
#: Actions that must say why: the applicant or the record needs the reason.
_COMMENT_NEEDED: dict[Action, str] = {
    Action.refuse: "the reason for refusing the application",
    Action.request_correction: "which materials to correct or complete",
    Action.deny: "the reason for the denial",
    Action.suspend: "the reason for suspending the case",
}


class IllegalTransition(ValueError):
    """The action is not allowed now; ``reason`` says what is (HTTP 409)."""

    def __init__(self, action: Action, status: CaseStatus, reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.status = status
        self.reason = reason


class WrongRole(IllegalTransition):
    """The action is allowed now, but not for this role (HTTP 403 if the caller prefers)."""


class CommentRequired(IllegalTransition):
    """The action needs a comment saying why (HTTP 422 if the caller prefers)."""


@dataclass(frozen=True)
class CaseState:
    """A case's position in its flow (see the module docstring for ``step_index``)."""

    status: CaseStatus
    step_index: int
    decision: Literal["granted", "denied"] | None = None
    resume_status: CaseStatus | None = None
    resume_step_index: int | None = None

    def __post_init__(self) -> None:
        # Rows read back from a database hold plain strings; the machine compares members.
        object.__setattr__(self, "status", CaseStatus(self.status))
        if self.resume_status is not None:
            object.__setattr__(self, "resume_status", CaseStatus(self.resume_status))


def initial_state(flow: list[FlowStep]) -> CaseState:
    """A newly received application, waiting for the accept step."""
    validate_flow(flow)
    return CaseState(status=CaseStatus.submitted, step_index=0)


def clock_running(status: CaseStatus) -> bool:
    """Whether the time limit is counting: not while 补正/suspended, nor once decided."""
    return status in _CLOCK_RUNNING


def _expected_step(status: CaseStatus, flow: list[FlowStep]) -> int | None:
    """The step_index a status implies, or None for in_review (any review step)."""
    if status in (CaseStatus.submitted, CaseStatus.correction_requested, CaseStatus.refused):
        return 0
    if status in (CaseStatus.awaiting_decision, CaseStatus.suspended):
        return len(flow) - 2
    if status in (CaseStatus.decided, CaseStatus.closed):
        return len(flow) - 1
    return None


def _fits(state: CaseState, flow: list[FlowStep]) -> bool:
    expected = _expected_step(state.status, flow)
    if expected is None:
        step_ok = 0 < state.step_index < len(flow) - 2
    else:
        step_ok = state.step_index == expected
    decided = state.status in (CaseStatus.decided, CaseStatus.closed)
    decision_ok = state.decision in ("granted", "denied") if decided else state.decision is None
    if state.status is not CaseStatus.suspended:
        resume_ok = state.resume_status is None and state.resume_step_index is None
    else:
        resume_ok = (
            state.resume_status in (CaseStatus.in_review, CaseStatus.awaiting_decision)
            and state.resume_step_index is not None
            and _fits(CaseState(state.resume_status, state.resume_step_index), flow)
        )
    return step_ok and decision_ok and resume_ok


def _inconsistency(state: CaseState, flow: list[FlowStep]) -> str | None:
    """Why a state cannot belong to this flow (corrupt row, or another flow version)."""
    if _fits(state, flow):
        return None
    return (
        f"the case state {state} does not fit this flow of {len(flow)} steps; "
        "was the case started under another flow version?"
    )


def _acting_role(state: CaseState, action: Action, flow: list[FlowStep]) -> str:
    if action is Action.resubmit:
        return APPLICANT_ROLE
    if action in (Action.suspend, Action.resume):
        return flow[-2].role
    return flow[state.step_index].role


def allowed_actions(state: CaseState, flow: list[FlowStep]) -> list[tuple[Action, str]]:
    """The actions possible now and the role that may take each (for work queues).

    Raises ValueError if the state does not fit the flow.
    """
    validate_flow(flow)
    problem = _inconsistency(state, flow)
    if problem:
        raise ValueError(problem)
    return [(a, _acting_role(state, a, flow)) for a in _LEGAL[state.status]]


def _describe_allowed(state: CaseState, flow: list[FlowStep]) -> str:
    allowed = allowed_actions(state, flow)
    if not allowed:
        return f"a {state.status.value} case is finished; no action is allowed"
    return "allowed: " + ", ".join(f"{a.value} ({role})" for a, role in allowed)


def _apply(state: CaseState, action: Action, flow: list[FlowStep]) -> CaseState:
    """The state after a legal action (role and comment already checked)."""
    decide, close = len(flow) - 2, len(flow) - 1
    if action is Action.accept:
        return CaseState(CaseStatus.in_review, 1)
    if action is Action.refuse:
        return CaseState(CaseStatus.refused, 0)
    if action is Action.request_correction:
        return CaseState(CaseStatus.correction_requested, 0)
    if action is Action.resubmit:
        return CaseState(CaseStatus.submitted, 0)
    if action is Action.approve_step:
        following = state.step_index + 1
        if following < decide:
            return CaseState(CaseStatus.in_review, following)
        return CaseState(CaseStatus.awaiting_decision, decide)
    if action in (Action.grant, Action.deny):
        return CaseState(
            CaseStatus.decided, close, "granted" if action is Action.grant else "denied"
        )
    if action is Action.close:
        return replace(state, status=CaseStatus.closed)
    if action is Action.suspend:
        return CaseState(CaseStatus.suspended, decide, None, state.status, state.step_index)
    # resume: _fits guaranteed that both resume fields are set.
    assert state.resume_status is not None and state.resume_step_index is not None
    return CaseState(state.resume_status, state.resume_step_index)


def transition(
    state: CaseState,
    action: Action,
    actor_role: str,
    flow: list[FlowStep],
    comment: str = "",
) -> CaseState:
    """Take ``action`` as ``actor_role``; return the new state or raise IllegalTransition."""
    validate_flow(flow)
    action = Action(action)
    problem = _inconsistency(state, flow)
    if problem:
        raise IllegalTransition(action, state.status, problem)
    if action not in _LEGAL[state.status]:
        raise IllegalTransition(
            action,
            state.status,
            f"cannot {action.value} a case that is {state.status.value}; "
            + _describe_allowed(state, flow),
        )
    role = _acting_role(state, action, flow)
    if actor_role != role:
        step = "the applicant" if role == APPLICANT_ROLE else f"step {flow[state.step_index].name}"
        if action in (Action.suspend, Action.resume):
            step = f"the decide step {flow[-2].name}"
        raise WrongRole(
            action,
            state.status,
            f"{action.value} is for role {role} ({step}), not {actor_role}",
        )
    if action in _COMMENT_NEEDED and not comment.strip():
        raise CommentRequired(
            action, state.status, f"{action.value} needs a comment: {_COMMENT_NEEDED[action]}"
        )
    return _apply(state, action, flow)
