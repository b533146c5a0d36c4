"""Database plumbing shared by the roles: engines, sessions, one transaction per unit of work.

:class:`CoreBase` is the declarative base of the core database. It lives here, not in core,
because two layers own tables there: core (:mod:`sunlight.runtime.core.models`) and, below
it, the exchange transport (:mod:`sunlight.runtime.exchange.models`); one metadata, one
migration history (``runtime/migrations/core``).

Example::

    >>> from sunlight.runtime.db import make_engine, transaction
    >>> engine = make_engine("postgresql+psycopg://u:pw@host/db")  # doctest: +SKIP
    >>> with transaction(engine) as session:  # doctest: +SKIP
    ...     session.execute(text("select 1"))

Every role's connections carry three PostgreSQL time-outs, set here and nowhere else
(:func:`db_timeouts`: the role's default in :data:`ROLE_TIMEOUTS`, each overridable by a
``SUNLIGHT_DB_*_TIMEOUT_MS`` setting), so that one stuck transaction cannot stall the
others: ``lock_timeout`` (a statement waiting on a row or table lock gives up: SQLSTATE
55P03), ``statement_timeout`` (57014) and ``idle_in_transaction_session_timeout`` (a
session left idle inside a transaction is ended, and its locks released: 25P03).
:func:`sunlight.runtime.errors.install_error_handlers` answers each as 503 with
``Retry-After`` and a reason. Migrations use their own engine without them (a long
``ALTER`` must not be cut off).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from sunlight.runtime.settings import Settings


class CoreBase(DeclarativeBase):
    """Tables of the core database (internal zone): core's and the exchange transport's."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DbTimeouts:
    """PostgreSQL time-outs of a role's connections, in milliseconds (0: none)."""

    lock_ms: int
    statement_ms: int
    idle_in_transaction_ms: int

    def options(self) -> str:
        """libpq ``options``: the settings every new connection starts with."""
        return (f"-c lock_timeout={self.lock_ms} -c statement_timeout={self.statement_ms} "
                f"-c idle_in_transaction_session_timeout={self.idle_in_transaction_ms}")


#: Per role: the portal answers citizens (short waits, small statements); the gateway moves
#: batches between the zones; core also runs reports, statistics and the periodic tick.
#: A lock wait never lasts longer than a client would wait for an answer.
ROLE_TIMEOUTS: dict[str, DbTimeouts] = {
    "portal": DbTimeouts(lock_ms=3_000, statement_ms=15_000, idle_in_transaction_ms=30_000),
    # The gateway keeps its batch's transaction open while it sends each record and its
    # materials to core (each request up to its HTTP time-out): a longer idle allowance.
    "gateway": DbTimeouts(lock_ms=5_000, statement_ms=30_000, idle_in_transaction_ms=300_000),
    "core": DbTimeouts(lock_ms=5_000, statement_ms=60_000, idle_in_transaction_ms=60_000),
}
#: Engines made without a role's settings (command-line tools on a host) get the core's,
#: the most lenient.
DEFAULT_TIMEOUTS = ROLE_TIMEOUTS["core"]


def db_timeouts(settings: Settings) -> DbTimeouts:
    """The role's time-outs, each replaced by its ``SUNLIGHT_DB_*_TIMEOUT_MS`` when set."""
    base = ROLE_TIMEOUTS[settings.role]
    return DbTimeouts(
        lock_ms=_given(settings.db_lock_timeout_ms, base.lock_ms),
        statement_ms=_given(settings.db_statement_timeout_ms, base.statement_ms),
        idle_in_transaction_ms=_given(settings.db_idle_in_transaction_timeout_ms,
                                      base.idle_in_transaction_ms))


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def make_engine(url: str, pool_size: int = 10,
                timeouts: DbTimeouts = DEFAULT_TIMEOUTS) -> Engine:
    """A pooled engine; connections are checked before use so a restarted DB is survived,
    and start with ``timeouts`` (a role's app passes :func:`db_timeouts` of its settings)."""
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         pool_recycle=1800, connect_args={"options": timeouts.options()})


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One session, one transaction: commit on success, roll back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def database_ready(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    with engine.connect() as conn:
        return conn.execute(text("select 1")).scalar() == 1
