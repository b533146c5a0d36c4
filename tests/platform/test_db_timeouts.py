"""Every role's database connections carry lock, statement and idle-in-transaction
time-outs, from one place (issue 15, point 3), and a time-out answers 503 with a reason.

Before this issue ``sunlight.runtime.db`` had no ``DbTimeouts`` / ``ROLE_TIMEOUTS`` /
``db_timeouts`` (ImportError), engines set no time-out at all (a request waited on a lock
for as long as it was held), and a statement cut off by ``idle_in_transaction_session_timeout``
(25P03) answered 500. The real PostgreSQL proof is
``integration/test_platform_2_roundtrip.py::test_a_held_row_lock_fails_a_second_request_fast_and_the_loop_answers``.
"""

from __future__ import annotations

from typing import Any

import psycopg.errors
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from sunlight.runtime.db import (
    DEFAULT_TIMEOUTS,
    ROLE_TIMEOUTS,
    DbTimeouts,
    db_timeouts,
    make_engine,
)
from sunlight.runtime.errors import BUSY_REASONS, install_error_handlers
from tests.platform.role_settings import ROLES, role_settings


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_all_three_time_outs(role: str) -> None:
    timeouts = db_timeouts(role_settings(role))
    assert timeouts == ROLE_TIMEOUTS[role]
    # A lock wait is short (a client is waiting); a statement may run longer than a lock
    # wait; no time-out is "none" for a role's own connections.
    assert 0 < timeouts.lock_ms <= 5_000 < timeouts.statement_ms
    assert timeouts.idle_in_transaction_ms >= timeouts.lock_ms > 0


def test_a_setting_replaces_one_time_out_and_keeps_the_others() -> None:
    got = db_timeouts(role_settings("core", db_lock_timeout_ms=750))
    assert got == DbTimeouts(750, ROLE_TIMEOUTS["core"].statement_ms,
                             ROLE_TIMEOUTS["core"].idle_in_transaction_ms)


def test_a_negative_time_out_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="db_statement_timeout_ms"):
        role_settings("portal", db_statement_timeout_ms=-1)


def test_the_engine_starts_each_connection_with_the_time_outs() -> None:
    timeouts = DbTimeouts(lock_ms=1234, statement_ms=5678, idle_in_transaction_ms=9012)
    engine = make_engine("postgresql+psycopg://u:p@127.0.0.1:1/db", timeouts=timeouts)
    options = _connect_args(engine)["options"]
    assert options == ("-c lock_timeout=1234 -c statement_timeout=5678 "
                       "-c idle_in_transaction_session_timeout=9012")
    default = _connect_args(make_engine("postgresql+psycopg://u:p@127.0.0.1:1/db"))
    assert default["options"] == DEFAULT_TIMEOUTS.options()


def _connect_args(engine: Any) -> dict[str, Any]:
    """What SQLAlchemy passes to psycopg's connect() (kept in the pool's creator)."""
    creator = engine.pool._creator
    cparams = next(c.cell_contents for c in creator.__closure__ or ()
                   if isinstance(c.cell_contents, dict) and "options" in c.cell_contents)
    return dict(cparams)


@pytest.mark.parametrize("error", [
    psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
    psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    psycopg.errors.IdleInTransactionSessionTimeout(
        "terminating connection due to idle-in-transaction timeout"),
])
def test_a_time_out_answers_503_with_its_own_reason(error: Exception) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/x")
    def raising() -> None:
        raise OperationalError("UPDATE cases SET status = 'x'", {}, error)

    response = TestClient(app, raise_server_exceptions=False).get("/x")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    state = getattr(error, "sqlstate", None)
    assert response.json()["detail"] == BUSY_REASONS[str(state)]
    assert "cases" not in response.text
