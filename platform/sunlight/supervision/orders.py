"""督办 orders as a pure state machine: statuses, moves, due dates and the escalation rule.

An order is issued (``open``), answered by the addressed department (``answered``), and then
accepted by the issuing supervisors (``accepted``, closed) or returned with a reason (``open``
again, the department answers again). Its due date counts working days
(:mod:`sunlight.workflow.deadlines`) from the day it is issued, :data:`DEFAULT_DUE_DAYS`
unless the supervisor gives another number. An order still waiting for its answer after its
due date (never answered, or returned and not answered again) escalates **one tier up**,
once: :func:`should_escalate`. A copy received by escalation escalates no further (one hop;
a second hop would need the parent's own due date).

Example::

    >>> from datetime import date
    >>> order_due_on(date(2024, 9, 27))  # Fri; the 29th is a 调休 Sunday, then 国庆
    datetime.date(2024, 10, 8)
    >>> next_status(OrderStatus.open, OrderMove.answer)
    <OrderStatus.answered: 'answered'>
    >>> next_status(OrderStatus.answered, OrderMove.return_)
    <OrderStatus.open: 'open'>
    >>> next_status(OrderStatus.accepted, OrderMove.answer)
    Traceback (most recent call last):
    ...
    sunlight.supervision.orders.OrderStateError: 督办件已办结（答复已被采纳），不能再答复
    >>> should_escalate(OrderStatus.open, date(2024, 10, 8), today=date(2024, 10, 9))
    True
    >>> should_escalate(OrderStatus.answered, date(2024, 10, 8), today=date(2024, 10, 9))
    False
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sunlight.workflow.deadlines import add_working_days, is_overdue

DEFAULT_DUE_DAYS = 3
MAX_DUE_DAYS = 60


class OrderStatus(StrEnum):
    """Where an order stands: waiting for an answer, waiting for review, or closed."""

    open = "open"
    answered = "answered"
    accepted = "accepted"

    @property
    def zh(self) -> str:
        return {"open": "待答复", "answered": "待审核", "accepted": "已办结"}[self.value]


class OrderMove(StrEnum):
    """What can happen to an order after it is issued."""

    answer = "answer"
    accept = "accept"
    return_ = "return"

    @property
    def zh(self) -> str:
        return {"answer": "答复", "accept": "采纳答复", "return": "退回答复"}[self.value]


class OrderStateError(ValueError):
    """The move is not allowed in the order's status; the message (Chinese) says why."""


_MOVES = {
    (OrderStatus.open, OrderMove.answer): OrderStatus.answered,
    (OrderStatus.answered, OrderMove.accept): OrderStatus.accepted,
    (OrderStatus.answered, OrderMove.return_): OrderStatus.open,
}
_WHY = {
    OrderStatus.open: "督办件尚未答复，不能{move}",
    OrderStatus.answered: "督办件已答复，等待督办单位审核，不能再{move}",
    OrderStatus.accepted: "督办件已办结（答复已被采纳），不能再{move}",
}


def next_status(status: OrderStatus | str, move: OrderMove | str) -> OrderStatus:
    """The status after ``move``; :class:`OrderStateError` naming why it is not allowed."""
    status, move = OrderStatus(status), OrderMove(move)
    try:
        return _MOVES[(status, move)]
    except KeyError:
        raise OrderStateError(_WHY[status].format(move=move.zh)) from None


def order_due_on(issued_on: date, days: int = DEFAULT_DUE_DAYS) -> date:
    """The due date ``days`` working days after the day of issue (that day not counted)."""
    if not 1 <= days <= MAX_DUE_DAYS:
        raise ValueError(f"due_days must be 1 to {MAX_DUE_DAYS} working days, got {days}")
    return add_working_days(issued_on, days)


def should_escalate(status: OrderStatus | str, due_on: date | None, *, today: date,
                    escalated: bool = False, received_by_escalation: bool = False) -> bool:
    """Whether an order addressed to this site escalates to the parent now.

    Only an order still waiting for its answer (``open``: never answered, or returned) whose
    due date has passed (``today`` is after it), that has not escalated before and is not
    itself a copy received by escalation (one hop only). An order without a due date never
    escalates.
    """
    if escalated or received_by_escalation or due_on is None:
        return False
    return OrderStatus(status) is OrderStatus.open and is_overdue(due_on, today)
