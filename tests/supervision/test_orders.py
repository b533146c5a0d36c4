"""督办 orders as a pure state machine: moves, due dates in working days, the escalation rule."""

from __future__ import annotations

import doctest
from datetime import date

import pytest

from sunlight.supervision import orders
from sunlight.supervision.orders import (
    DEFAULT_DUE_DAYS,
    OrderMove,
    OrderStateError,
    OrderStatus,
    next_status,
    order_due_on,
    should_escalate,
)


def test_docstring_examples() -> None:
    result = doctest.testmod(orders, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_loop_answer_return_answer_accept() -> None:
    status = OrderStatus.open
    for move, expected in ((OrderMove.answer, "answered"), (OrderMove.return_, "open"),
                           (OrderMove.answer, "answered"), (OrderMove.accept, "accepted")):
        status = next_status(status, move)
        assert status == expected


@pytest.mark.parametrize("status, move, reason", [
    ("open", "accept", "尚未答复"),
    ("open", "return", "尚未答复"),
    ("answered", "answer", "等待督办单位审核"),
    ("accepted", "answer", "已办结"),
    ("accepted", "return", "已办结"),
    ("accepted", "accept", "已办结"),
])
def test_a_move_out_of_turn_is_refused_with_a_chinese_reason(status: str, move: str,
                                                             reason: str) -> None:
    with pytest.raises(OrderStateError, match=reason):
        next_status(status, move)


def test_due_date_counts_working_days_from_the_day_after_issue() -> None:
    assert DEFAULT_DUE_DAYS == 3
    assert order_due_on(date(2026, 12, 1)) == date(2026, 12, 4)  # Tue → Fri
    assert order_due_on(date(2026, 12, 3)) == date(2026, 12, 8)  # Thu → Fri, Mon, Tue
    assert order_due_on(date(2026, 12, 5), 1) == date(2026, 12, 7)  # issued on a Saturday


def test_due_date_across_national_day_and_its_adjusted_working_days() -> None:
    # 2024: 29 Sep (Sun) and 12 Oct (Sat) are working days (调休); 1-7 Oct are holidays.
    assert order_due_on(date(2024, 9, 27), 2) == date(2024, 9, 30)
    assert order_due_on(date(2024, 9, 30), 5) == date(2024, 10, 12)


@pytest.mark.parametrize("days", [0, -1, 61])
def test_due_days_out_of_range_are_refused(days: int) -> None:
    with pytest.raises(ValueError, match="due_days"):
        order_due_on(date(2026, 12, 1), days)


@pytest.mark.parametrize("status, due, today, kwargs, expected", [
    ("open", date(2026, 12, 4), date(2026, 12, 4), {}, False),  # due today: not yet
    ("open", date(2026, 12, 4), date(2026, 12, 5), {}, True),
    ("open", date(2026, 12, 4), date(2026, 12, 5), {"escalated": True}, False),  # once
    ("open", date(2026, 12, 4), date(2026, 12, 5), {"received_by_escalation": True}, False),
    ("answered", date(2026, 12, 4), date(2026, 12, 9), {}, False),  # waits for review
    ("accepted", date(2026, 12, 4), date(2026, 12, 9), {}, False),
    ("open", None, date(2026, 12, 9), {}, False),  # no due date: never
])
def test_escalation_decision(status: str, due: date | None, today: date,
                             kwargs: dict[str, bool], expected: bool) -> None:
    assert should_escalate(status, due, today=today, **kwargs) is expected


def test_a_returned_order_past_its_due_date_escalates() -> None:
    status = next_status(next_status(OrderStatus.open, OrderMove.answer), OrderMove.return_)
    assert should_escalate(status, date(2026, 12, 4), today=date(2026, 12, 7))


def test_statuses_and_moves_have_chinese_names() -> None:
    assert [s.zh for s in OrderStatus] == ["待答复", "待审核", "已办结"]
    assert OrderMove.return_.value == "return" and OrderMove.return_.zh == "退回答复"
