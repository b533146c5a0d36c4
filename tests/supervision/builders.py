"""Small builders for supervision tests: a flow, a case's facts, moves and rule sets."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sunlight.catalogue.flow import FlowStep
from sunlight.supervision.facts import CaseFacts, Move, pauses_from_history
from sunlight.supervision.rules import RuleSet
from sunlight.workflow.machine import initial_state, transition

CST = timezone(timedelta(hours=8))
ITEM = "320703-SCJGJ-XK-001"
OTHER_ITEM = "320703-SCJGJ-XK-002"


def _step(kind: str, name: str, role: str) -> FlowStep:
    return FlowStep(kind=kind, name=name, role=role, limit_days=1)  # type: ignore[arg-type]


FLOW = (
    _step("accept", "受理", "clerk"),
    _step("review", "审查", "reviewer"),
    _step("decide", "决定", "approver"),
    _step("close", "办结", "clerk"),
)
#: Two review steps, so that one can be skipped.
FLOW_2 = (
    _step("accept", "受理", "clerk"),
    _step("review", "初审", "reviewer"),
    _step("review", "复审", "reviewer"),
    _step("decide", "决定", "approver"),
    _step("close", "送达", "clerk"),
)


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    """``2024-09-27`` at ``hour:minute`` China time."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=CST)


def move(action: str, when: datetime, actor: str | None = None, role: str | None = None,
         **extra: Any) -> Move:
    """A move by the usual person of the flow for ``action``."""
    roles = {"accept": "clerk", "refuse": "clerk", "request_correction": "clerk",
             "resubmit": "applicant", "approve_step": "reviewer", "grant": "approver",
             "deny": "approver", "suspend": "approver", "resume": "approver", "close": "clerk"}
    people = {"clerk": "zhang.wei", "reviewer": "li.na", "approver": "wang.fang",
              "applicant": "applicant"}
    role = role or roles[action]
    return Move(at=when, actor=actor or people[role], role=role,
                action=action, **extra)  # type: ignore[arg-type]


def facts(*history: Move, submitted: str = "2024-09-27", status: str = "submitted",
          **fields: Any) -> CaseFacts:
    """A licence case submitted at 9:00 on ``submitted``, promised in 5 working days; the
    pauses come from the history unless given."""
    corrections, suspensions = pauses_from_history(history)
    base = CaseFacts(item_code=ITEM, category="licence",  # type: ignore[arg-type]
                     promised_limit_days=5, flow=FLOW, submitted_at=at(submitted),
                     status=status, history=history,  # type: ignore[arg-type]
                     corrections=corrections, suspensions=suspensions)
    return replace(base, **fields) if fields else base


def as_known_at(history: tuple[Move, ...], now: datetime, **fields: Any) -> CaseFacts:
    """The facts as core would hold them at ``now``: the moves made by then, the status they
    lead to under :data:`FLOW`."""
    known = tuple(m for m in history if m.at <= now)
    state = initial_state(list(FLOW))
    for m in known:
        state = transition(state, m.action, m.role, list(FLOW), "recorded")
    return facts(*known, status=state.status.value, **fields)


def handled(day: str = "2024-09-27", *, decider: str = "wang.fang") -> tuple[Move, ...]:
    """Accepted, reviewed, granted and closed over the morning of ``day``."""
    return (move("accept", at(day, 9, 30)), move("approve_step", at(day, 10, 30)),
            move("grant", at(day, 11, 30), actor=decider), move("close", at(day, 12, 0)))


def rule(rule_id: str, light: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A rule document; condition fields by keyword, rule fields with a ``rule_`` prefix."""
    own = {k.removeprefix("rule_"): v for k, v in fields.items() if k.startswith("rule_")}
    condition = {k: v for k, v in fields.items() if not k.startswith("rule_")}
    return {"id": rule_id, "light": light, "condition": {"kind": kind, **condition},
            "text": own.pop("text", "测试规则"), **own}


def ruleset(*rules: dict[str, Any], site: str = "320703", version: int = 1) -> RuleSet:
    return RuleSet.model_validate({"site": site, "version": version, "rules": list(rules)})
