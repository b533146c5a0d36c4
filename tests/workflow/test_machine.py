"""The case state machine over a 1-review and a 3-review flow."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pytest

from sunlight.catalogue.flow import STAFF_ROLES, FlowError, FlowStep
from sunlight.workflow.machine import (
    ACTION_LABELS,
    APPLICANT_ROLE,
    STATUS_LABELS,
    Action,
    CaseState,
    CaseStatus,
    CommentRequired,
    IllegalTransition,
    WrongRole,
    allowed_actions,
    clock_running,
    initial_state,
    transition,
)

S, A = CaseStatus, Action
ALL_ROLES = (*STAFF_ROLES, APPLICANT_ROLE)
NEEDS_COMMENT = {A.refuse, A.request_correction, A.deny, A.suspend}


def _step(kind: str, name: str, role: str) -> FlowStep:
    return FlowStep(kind=kind, name=name, role=role, limit_days=2)  # type: ignore[arg-type]


FLOW_1 = [
    _step("accept", "受理", "clerk"),
    _step("review", "审查", "reviewer"),
    _step("decide", "决定", "approver"),
    _step("close", "办结", "clerk"),
]
#: Review roles alternate so that a role check per review step can fail.
FLOW_3 = [
    _step("accept", "受理", "clerk"),
    _step("review", "初审", "reviewer"),
    _step("review", "复审", "approver"),
    _step("review", "审核", "reviewer"),
    _step("decide", "决定", "approver"),
    _step("close", "送达", "clerk"),
]
FLOWS = {"1-review": FLOW_1, "3-review": FLOW_3}

#: The specification, written out independently of the module's tables.
EXPECTED_ALLOWED = {
    S.submitted: {A.accept, A.refuse, A.request_correction},
    S.correction_requested: {A.resubmit},
    S.refused: set(),
    S.in_review: {A.approve_step, A.suspend},
    S.awaiting_decision: {A.grant, A.deny, A.suspend},
    S.decided: {A.close},
    S.closed: set(),
    S.suspended: {A.resume},
}


@pytest.fixture(params=sorted(FLOWS))
def flow(request: pytest.FixtureRequest) -> list[FlowStep]:
    return FLOWS[request.param]


def _role(state: CaseState, action: Action, flow: list[FlowStep]) -> str:
    return dict(allowed_actions(state, flow))[action]


def _do(state: CaseState, action: Action, flow: list[FlowStep]) -> CaseState:
    comment = "理由" if action in NEEDS_COMMENT else ""
    return transition(state, action, _role(state, action, flow), flow, comment)


def _run(flow: list[FlowStep], *actions: Action) -> CaseState:
    state = initial_state(flow)
    for action in actions:
        state = _do(state, action, flow)
    return state


def _reviews(flow: list[FlowStep]) -> int:
    return len(flow) - 3


def _reachable(flow: list[FlowStep]) -> set[CaseState]:
    seen = {initial_state(flow)}
    queue = deque(seen)
    while queue:
        state = queue.popleft()
        for action, _ in allowed_actions(state, flow):
            following = _do(state, action, flow)
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return seen


def _paths(flow: list[FlowStep]) -> Iterator[list[tuple[Action, CaseState]]]:
    """Every path to a terminal state that visits no state more than twice (each loop once)."""

    def walk(state: CaseState, path: list[tuple[Action, CaseState]], visits: dict[CaseState, int]
             ) -> Iterator[list[tuple[Action, CaseState]]]:
        options = allowed_actions(state, flow)
        if not options:
            yield path
            return
        for action, _ in options:
            following = _do(state, action, flow)
            if visits.get(following, 0) >= 2:
                continue
            visits[following] = visits.get(following, 0) + 1
            yield from walk(following, [*path, (action, following)], visits)
            visits[following] -= 1

    start = initial_state(flow)
    yield from walk(start, [], {start: 1})


# --- legal paths -----------------------------------------------------------------------


def test_initial_state(flow: list[FlowStep]) -> None:
    assert initial_state(flow) == CaseState(S.submitted, 0, None, None, None)


@pytest.mark.parametrize(("final", "decision"), [(A.grant, "granted"), (A.deny, "denied")])
def test_straight_through(flow: list[FlowStep], final: Action, decision: str) -> None:
    state = _do(initial_state(flow), A.accept, flow)
    trail = [(state.status, state.step_index)]
    for _ in range(_reviews(flow)):
        state = _do(state, A.approve_step, flow)
        trail.append((state.status, state.step_index))
    decide = len(flow) - 2
    expected = [(S.in_review, i) for i in range(1, decide)] + [(S.awaiting_decision, decide)]
    assert trail == expected
    state = _do(state, final, flow)
    assert state == CaseState(S.decided, len(flow) - 1, decision)  # type: ignore[arg-type]
    state = _do(state, A.close, flow)
    assert state == CaseState(S.closed, len(flow) - 1, decision)  # type: ignore[arg-type]
    assert allowed_actions(state, flow) == []


def test_refusal(flow: list[FlowStep]) -> None:
    state = transition(initial_state(flow), A.refuse, "clerk", flow, "不属于本机关职权范围")
    assert state == CaseState(S.refused, 0)
    assert allowed_actions(state, flow) == []


def test_correction_loop_then_acceptance(flow: list[FlowStep]) -> None:
    state = transition(initial_state(flow), A.request_correction, "clerk", flow, "补交营业执照")
    assert state == CaseState(S.correction_requested, 0)
    assert allowed_actions(state, flow) == [(A.resubmit, APPLICANT_ROLE)]
    state = transition(state, A.resubmit, APPLICANT_ROLE, flow)
    assert state == initial_state(flow)
    state = _run(flow, A.request_correction, A.resubmit, A.request_correction, A.resubmit,
                 A.accept)
    assert state == CaseState(S.in_review, 1)


def test_correction_then_refusal(flow: list[FlowStep]) -> None:
    assert _run(flow, A.request_correction, A.resubmit, A.refuse) == CaseState(S.refused, 0)


def test_suspend_and_resume_return_to_the_same_step(flow: list[FlowStep]) -> None:
    state = _do(initial_state(flow), A.accept, flow)
    for _ in range(_reviews(flow) + 1):  # every review step and the decision
        suspended = transition(state, A.suspend, "approver", flow, "等待鉴定结论")
        assert suspended.status is S.suspended
        assert suspended.step_index == len(flow) - 2
        assert (suspended.resume_status, suspended.resume_step_index) == (
            state.status, state.step_index)
        assert allowed_actions(suspended, flow) == [(A.resume, "approver")]
        assert transition(suspended, A.resume, "approver", flow) == state
        if state.status is S.in_review:
            state = _do(state, A.approve_step, flow)
    assert state.status is S.awaiting_decision


def test_close_keeps_the_decision(flow: list[FlowStep]) -> None:
    state = _run(flow, A.accept, *[A.approve_step] * _reviews(flow), A.deny, A.close)
    assert state.decision == "denied"


@pytest.mark.parametrize(("name", "expected_paths"), [("1-review", 18), ("3-review", 66)])
def test_every_legal_path(name: str, expected_paths: int) -> None:
    flow = FLOWS[name]
    n = _reviews(flow)
    paths = list(_paths(flow))
    # (correction loop or not) x (refuse, or accept then 2 decisions x suspend-or-not at
    # each of n review steps and at the decision).
    assert len(paths) == expected_paths == 2 * (1 + 2 * 2 ** (n + 1))
    for path in paths:
        actions = [a for a, _ in path]
        final = path[-1][1]
        if A.accept in actions:
            assert final.status is S.closed
            assert actions.count(A.approve_step) == n
            assert final.decision == ("granted" if A.grant in actions else "denied")
            review_steps = [s.step_index for _, s in path if s.status is S.in_review]
            assert sorted(set(review_steps)) == list(range(1, n + 1))
            assert review_steps == sorted(review_steps)  # never goes back a step
        else:
            assert final == CaseState(S.refused, 0)
        assert actions.count(A.suspend) == actions.count(A.resume)


@pytest.mark.parametrize(("name", "expected"), [("1-review", 11), ("3-review", 15)])
def test_reachable_states(name: str, expected: int) -> None:
    states = _reachable(FLOWS[name])
    n = _reviews(FLOWS[name])
    assert len(states) == expected == 9 + 2 * n
    assert {s.status for s in states} == set(S)


# --- illegal actions -------------------------------------------------------------------


def _state_in(status: CaseStatus, flow: list[FlowStep]) -> CaseState:
    return next(s for s in sorted(_reachable(flow), key=repr) if s.status is status)


def test_allowed_actions_match_the_specification(flow: list[FlowStep]) -> None:
    for state in _reachable(flow):
        assert {a for a, _ in allowed_actions(state, flow)} == EXPECTED_ALLOWED[state.status]


ILLEGAL = [(s, a) for s in S for a in A if a not in EXPECTED_ALLOWED[s]]


def test_illegal_pairs_cover_the_rest() -> None:
    assert len(ILLEGAL) == len(S) * len(A) - sum(map(len, EXPECTED_ALLOWED.values())) == 69


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_illegal_actions_are_refused_with_a_reason(status: CaseStatus, action: Action) -> None:
    state = _state_in(status, FLOW_3)
    for role in ALL_ROLES:
        with pytest.raises(IllegalTransition) as info:
            transition(state, action, role, FLOW_3, "有理由")
        error = info.value
        assert not isinstance(error, WrongRole | CommentRequired)
        assert (error.action, error.status) == (action, status)
        assert f"cannot {action.value} a case that is {status.value}" in error.reason
        assert str(error) == error.reason
        if EXPECTED_ALLOWED[status]:
            for allowed in EXPECTED_ALLOWED[status]:
                assert allowed.value in error.reason
        else:
            assert "no action is allowed" in error.reason


def test_wrong_role_is_refused(flow: list[FlowStep]) -> None:
    checked = 0
    for state in _reachable(flow):
        for action, role in allowed_actions(state, flow):
            for other in ALL_ROLES:
                if other == role:
                    continue
                with pytest.raises(WrongRole) as info:
                    transition(state, action, other, flow, "有理由")
                assert info.value.reason.startswith(f"{action.value} is for role {role} ")
                assert info.value.reason.endswith(f"not {other}")
                checked += 1
    assert checked > 0


def test_role_follows_the_current_review_step() -> None:
    state = _run(FLOW_3, A.accept)  # 初审, reviewer
    with pytest.raises(WrongRole, match="初审"):
        transition(state, A.approve_step, "approver", FLOW_3)
    state = transition(state, A.approve_step, "reviewer", FLOW_3)  # now 复审, approver
    with pytest.raises(WrongRole, match="复审"):
        transition(state, A.approve_step, "reviewer", FLOW_3)
    state = transition(state, A.approve_step, "approver", FLOW_3)
    assert state == CaseState(S.in_review, 3)


def test_only_the_applicant_resubmits() -> None:
    state = _run(FLOW_1, A.request_correction)
    with pytest.raises(WrongRole, match="applicant"):
        transition(state, A.resubmit, "clerk", FLOW_1)


@pytest.mark.parametrize("action", sorted(NEEDS_COMMENT))
@pytest.mark.parametrize("comment", ["", "   ", "\n\t"])
def test_comment_required(action: Action, comment: str) -> None:
    status = {A.refuse: S.submitted, A.request_correction: S.submitted,
              A.deny: S.awaiting_decision, A.suspend: S.in_review}[action]
    state = _state_in(status, FLOW_1)
    role = _role(state, action, FLOW_1)
    with pytest.raises(CommentRequired) as info:
        transition(state, action, role, FLOW_1, comment)
    assert (info.value.action, info.value.status) == (action, status)
    assert "needs a comment" in info.value.reason
    assert transition(state, action, role, FLOW_1, "说明").status is not status


def test_actions_without_comment_need_none(flow: list[FlowStep]) -> None:
    for state in _reachable(flow):
        for action, role in allowed_actions(state, flow):
            if action not in NEEDS_COMMENT:
                transition(state, action, role, flow)  # must not raise


def test_exception_hierarchy() -> None:
    assert issubclass(IllegalTransition, ValueError)
    assert issubclass(WrongRole, IllegalTransition)
    assert issubclass(CommentRequired, IllegalTransition)


# --- states that do not fit the flow, and the rest ---------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        CaseState(S.in_review, 0),
        CaseState(S.in_review, 4),  # the decide step of FLOW_3
        CaseState(S.in_review, 3, resume_status=S.in_review),
        CaseState(S.awaiting_decision, 1),
        CaseState(S.decided, 5),  # no decision
        CaseState(S.decided, 4, "granted"),
        CaseState(S.submitted, 0, "granted"),
        CaseState(S.suspended, 4),  # nothing to resume to
        CaseState(S.suspended, 4, None, S.submitted, 0),
        CaseState(S.suspended, 4, None, S.in_review, 4),
    ],
)
def test_states_that_do_not_fit_the_flow(state: CaseState) -> None:
    with pytest.raises(IllegalTransition, match="does not fit"):
        transition(state, A.resume, "approver", FLOW_3)
    with pytest.raises(ValueError, match="does not fit"):
        allowed_actions(state, FLOW_3)


def test_a_case_from_a_longer_flow_does_not_run_under_a_shorter_one() -> None:
    state = _run(FLOW_3, A.accept, A.approve_step, A.approve_step)  # review step 3
    with pytest.raises(IllegalTransition, match="another flow version"):
        transition(state, A.approve_step, "reviewer", FLOW_1)


def test_bad_flow_is_refused() -> None:
    with pytest.raises(FlowError):
        initial_state(FLOW_1[:3])
    with pytest.raises(FlowError):
        transition(CaseState(S.submitted, 0), A.accept, "clerk", [FLOW_1[1], *FLOW_1[1:]])


def test_string_actions_are_accepted() -> None:
    state = transition(initial_state(FLOW_1), "accept", "clerk", FLOW_1)  # type: ignore[arg-type]
    assert state.status == "in_review"


def test_states_rebuilt_from_plain_strings_work() -> None:
    suspended = _run(FLOW_1, A.accept, A.suspend)
    row = CaseState("suspended", 2, None, "in_review", 1)  # type: ignore[arg-type]
    assert row == suspended
    assert row.status is S.suspended and row.resume_status is S.in_review
    assert transition(row, A.resume, "approver", FLOW_1) == CaseState(S.in_review, 1)
    with pytest.raises(ValueError):
        CaseState("archived", 0)  # type: ignore[arg-type]


def test_clock_running() -> None:
    running = {S.submitted, S.in_review, S.awaiting_decision}
    for status in S:
        assert clock_running(status) is (status in running), status


def test_states_are_immutable_values() -> None:
    state = initial_state(FLOW_1)
    with pytest.raises(AttributeError):
        state.status = S.closed  # type: ignore[misc]
    assert _run(FLOW_1, A.accept) == _run(FLOW_1, A.accept)


def test_labels_cover_every_member() -> None:
    assert set(STATUS_LABELS) == set(S)
    assert set(ACTION_LABELS) == set(A)
    assert STATUS_LABELS[S.refused] == "不予受理"
