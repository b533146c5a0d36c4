"""``sunlight.case.light`` travels outside the per-case sequence: a parent that does not know
the type yet dead-letters it and goes on applying that case's events (no database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sunlight.runtime.exchange import schemas
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Applied, Handlers
from sunlight.runtime.exchange.inbound import Inbound, _one
from sunlight.runtime.exchange.models import DeadLetter
from sunlight.runtime.exchange.schemas import CASE_EVENT, CASE_LIGHT, event_type
from sunlight.runtime.exchange.signing import Keyring, seal
from tests.exchange.conftest import case_envelope

RECEIPT = "320703-20261201-000001"


class _Session:
    """Just enough of a session for the transport's bookkeeping."""

    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, row: Any) -> None:
        self.added.append(row)

    def execute(self, *_args: Any) -> Any:
        class Claimed:
            def first(self) -> tuple[str]:
                return ("claimed",)
        return Claimed()


def _light(change: int = 1) -> Envelope:
    return Envelope.new("320703", CASE_LIGHT, {
        "receipt": RECEIPT, "department": "320703-SCJGJ", "item_code": "320703-SCJGJ-QT-001",
        "status": "in_review", "light": "red", "previous": "yellow",
        "rule_ids": ["TIME-OVERDUE"], "hits": [{"rule_id": "TIME-OVERDUE", "light": "red",
                                                 "text": "已超过承诺办结时限仍未办结。"}],
        "change": change, "at": "2026-12-04T09:00:00+08:00"})


def test_the_light_type_is_up_unsequenced_and_for_every_ancestor() -> None:
    spec = event_type(CASE_LIGHT, 1)
    assert (spec.direction, spec.sequenced, spec.addressing) == ("up", False, "none")


def test_a_parent_without_the_type_dead_letters_it_and_holds_nothing(
        monkeypatch: pytest.MonkeyPatch, keyring: Callable[[str], Keyring],
        private: Callable[[str], Any]) -> None:
    older = {key: spec for key, spec in schemas._registry().items() if key[0] != CASE_LIGHT}
    monkeypatch.setattr(schemas, "_registry", lambda: older)  # a city not upgraded yet
    applied: list[int] = []

    def apply(session: Any, site: str, env: dict[str, Any]) -> Applied:
        applied.append(env["sequence"])
        return "applied"

    handlers = Handlers()
    handlers.on(CASE_EVENT, apply)
    city = Inbound("320700", keyring("320700"), ("320703",), handlers)
    session = _Session()
    light = _one(session, city, seal(_light(), private("320703")), "sunlight.in.up",  # type: ignore[arg-type]
                 "up")
    assert (light.kind, light.reason) == ("dead", "unknown_type")
    dead = [row for row in session.added if isinstance(row, DeadLetter)]
    assert [(d.reason, d.claimed_type) for d in dead] == [("unknown_type", CASE_LIGHT)]
    # The case's next event is applied at once: nothing waits behind the light.
    event = _one(session, city, seal(case_envelope(seq=1), private("320703")),  # type: ignore[arg-type]
                 "sunlight.in.up", "up")
    assert event.kind == "applied" and applied == [1]
