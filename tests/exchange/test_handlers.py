"""The transport below core: handlers registered by core, and no import of core."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy.orm import Session

from sunlight.runtime.core.cross_tier import register
from sunlight.runtime.exchange.handlers import Applied, Handlers, HandlersIncomplete
from sunlight.runtime.exchange.schemas import known_types


def _noop(session: Session, site: str, env: dict[str, Any]) -> Applied:
    return "applied"


def test_core_registers_a_handler_for_every_event_type_and_its_statistics() -> None:
    handlers = register(Handlers())
    assert handlers.missing() == []
    handlers.check(statistics=True)
    refusing = {t for t in known_types() if handlers.handler(t).may_refuse}
    assert refusing == {"sunlight.supervision.answer", "sunlight.supervision.review"}
    assert handlers.snapshot is not None


def test_an_unhandled_type_or_missing_statistics_stop_the_service_at_start() -> None:
    handlers = Handlers()
    for type_ in sorted(known_types() - {"sunlight.case.event"}):
        handlers.on(type_, _noop)
    with pytest.raises(HandlersIncomplete, match=r"no handler for sunlight\.case\.event$"):
        handlers.check(statistics=False)
    handlers.on("sunlight.case.event", _noop)
    handlers.check(statistics=False)
    with pytest.raises(HandlersIncomplete, match="no statistics"):
        handlers.check(statistics=True)


def test_a_type_is_handled_once_and_must_be_known() -> None:
    handlers = Handlers()
    handlers.on("sunlight.stats.snapshot", _noop)
    with pytest.raises(ValueError, match="already has a handler"):
        handlers.on("sunlight.stats.snapshot", _noop)
    with pytest.raises(ValueError, match="not an event type"):
        handlers.on("sunlight.case.deleted", _noop)
    with pytest.raises(HandlersIncomplete, match=r"sunlight\.case\.event"):
        handlers.handler("sunlight.case.event")


def test_the_transport_imports_nothing_of_core_portal_or_gateway() -> None:
    code = ("import importlib, pkgutil, sys, sunlight.runtime.exchange as x\n"
            "for m in pkgutil.iter_modules(x.__path__):\n"
            "    importlib.import_module('sunlight.runtime.exchange.' + m.name)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('sunlight.runtime.core', "
            "'sunlight.runtime.portal', 'sunlight.runtime.gateway', 'fastapi'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
