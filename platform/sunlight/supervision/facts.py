"""What supervision rules look at in one case: plain immutable values, no database.

The caller (core, a benchmark, a test) builds a :class:`CaseFacts` from its own records:
the item (code, category, promised limit, flow — the :class:`~sunlight.catalogue.flow.FlowStep`
list the case runs under), when it was submitted, its status
(:class:`~sunlight.workflow.machine.CaseStatus`), the recorded moves in order (each a
:class:`Move`: who, as which role, which :class:`~sunlight.workflow.machine.Action`, when),
the required materials that were missing when it was accepted, and the 补正 and suspension
intervals that stopped its clock. Intervals are ``(stopped_on, restarted_on)`` dates in
China's time zone, ``restarted_on`` ``None`` while still paused — the shape
:func:`sunlight.workflow.deadlines.due_date` takes and core stores; :func:`pauses_from_history`
derives them from the moves when that is all the caller has.

Example::

    >>> from datetime import datetime, timedelta, timezone
    >>> from sunlight.catalogue.flow import FlowStep
    >>> flow = (FlowStep(kind="accept", name="受理", role="clerk", limit_days=1),
    ...         FlowStep(kind="review", name="审查", role="reviewer", limit_days=5),
    ...         FlowStep(kind="decide", name="决定", role="approver", limit_days=2),
    ...         FlowStep(kind="close", name="办结", role="clerk", limit_days=1))
    >>> at = datetime(2024, 9, 27, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    >>> history = (Move(at, "wang.fang", "clerk", "request_correction"),
    ...            Move(at + timedelta(days=3), "applicant", "applicant", "resubmit"))
    >>> pauses_from_history(history)
    (((datetime.date(2024, 9, 27), datetime.date(2024, 9, 30)),), ())
    >>> facts = CaseFacts(item_code="320703-SCJGJ-XK-001", category="licence",
    ...                   promised_limit_days=5, flow=flow, submitted_at=at,
    ...                   status="submitted", history=history)
    >>> facts.category.zh, facts.status.value, facts.submitted_on
    ('行政许可', 'submitted', datetime.date(2024, 9, 27))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sunlight.catalogue.flow import FlowStep, validate_flow
from sunlight.catalogue.model import Category
from sunlight.workflow.machine import Action, CaseStatus

__all__ = ["CHINA", "CaseFacts", "Move", "Pause", "china_date", "pauses_from_history"]

#: Dates of time limits are China's dates, whatever zone a timestamp was recorded in.
CHINA = ZoneInfo("Asia/Shanghai")
#: A clock stop: ``(stopped_on, restarted_on)``, ``restarted_on`` ``None`` while paused.
Pause = tuple[date, date | None]


def china_date(at: datetime) -> date:
    """The date in China of an aware timestamp; a naive one is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; supervision needs aware times")
    return at.astimezone(CHINA).date()


@dataclass(frozen=True)
class Move:
    """One recorded move of a case (网上留痕): when, who, as which role, what.

    ``to_status`` and ``step_index``, when the record has them, are checked against the
    flow's own result (a mismatch is off the flow: a skipped step).
    """

    at: datetime
    actor: str
    role: str
    action: Action
    to_status: CaseStatus | None = None
    step_index: int | None = None

    def __post_init__(self) -> None:
        china_date(self.at)
        # Rows read back from a database hold plain strings; the rules compare members.
        object.__setattr__(self, "action", Action(self.action))
        if self.to_status is not None:
            object.__setattr__(self, "to_status", CaseStatus(self.to_status))


@dataclass(frozen=True)
class CaseFacts:
    """Everything the rules need to know about one case (see the module docstring).

    ``history`` holds every move since submission, in order (submission itself is
    ``submitted_at``; system events such as overdue marks are not moves).
    ``missing_at_acceptance`` names the required materials missing when it was accepted.
    """

    item_code: str
    category: Category
    promised_limit_days: int
    flow: tuple[FlowStep, ...]
    submitted_at: datetime
    status: CaseStatus
    history: tuple[Move, ...] = ()
    missing_at_acceptance: tuple[str, ...] = ()
    corrections: tuple[Pause, ...] = ()
    suspensions: tuple[Pause, ...] = ()

    def __post_init__(self) -> None:
        china_date(self.submitted_at)
        if self.promised_limit_days < 0:
            raise ValueError(f"promised_limit_days must be 0 or more, "
                             f"got {self.promised_limit_days}")
        validate_flow(list(self.flow))
        object.__setattr__(self, "category", Category(self.category))
        object.__setattr__(self, "status", CaseStatus(self.status))
        for name in ("flow", "history", "missing_at_acceptance", "corrections", "suspensions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def submitted_on(self) -> date:
        """The day the clock started from (not itself counted)."""
        return china_date(self.submitted_at)

    @property
    def pauses(self) -> list[Pause]:
        """Every clock stop (补正 and suspension) in order, as the deadlines take them."""
        return sorted((*self.corrections, *self.suspensions),
                      key=lambda pause: (pause[0], pause[1] or date.max))


def pauses_from_history(moves: Iterable[Move]) -> tuple[tuple[Pause, ...], tuple[Pause, ...]]:
    """``(corrections, suspensions)`` from the moves, as core records them on each move.

    A 补正 request stops the clock until the applicant resubmits; a suspension until the
    case is resumed. An interval still open at the end has ``None`` as its restart.
    """
    closing = {Action.resubmit: Action.request_correction, Action.resume: Action.suspend}
    found: dict[Action, list[Pause]] = {Action.request_correction: [], Action.suspend: []}
    for move in moves:
        if move.action in found:
            found[move.action].append((china_date(move.at), None))
        elif move.action in closing:
            opened = found[closing[move.action]]
            if opened and opened[-1][1] is None:
                opened[-1] = (opened[-1][0], china_date(move.at))
    return tuple(found[Action.request_correction]), tuple(found[Action.suspend])
