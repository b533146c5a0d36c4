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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class CoreBase(DeclarativeBase):
    """Tables of the core database (internal zone): core's and the exchange transport's."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """A pooled engine; connections are checked before use so a restarted DB is survived."""
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         pool_recycle=1800)


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
