"""Core's whole database on SQLite, for unit tests of core's pages and services without
PostgreSQL (the pattern of test_evidence.py, for every table): JSONB is stored as JSON,
BIGINT keys autoincrement, the audit chain's advisory lock is a no-op (one writer), and
timestamps read back carry UTC as PostgreSQL's ``timestamptz`` would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles

import sunlight.runtime.core.audit_anchor
import sunlight.runtime.core.enforcement_exchange
import sunlight.runtime.core.enforcement_models
import sunlight.runtime.core.inspection_models
import sunlight.runtime.core.legal_supervision_models
import sunlight.runtime.core.models
import sunlight.runtime.exchange.models  # noqa: F401  (every core table registered)
from sunlight.runtime.db import CoreBase


@compiles(JSONB, "sqlite")
def _json_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "JSON"


@compiles(BigInteger, "sqlite")
def _bigint_on_sqlite(type_: Any, compiler: Any, **kw: Any) -> str:
    return "INTEGER"  # SQLite autoincrements only an INTEGER PRIMARY KEY


def _aware(target: Any, *_args: Any) -> None:
    for column in target.__table__.columns:
        if isinstance(column.type, DateTime) and column.type.timezone:
            value = target.__dict__.get(column.key)
            if isinstance(value, datetime) and value.tzinfo is None:
                target.__dict__[column.key] = value.replace(tzinfo=UTC)


event.listen(CoreBase, "load", _aware, propagate=True)
event.listen(CoreBase, "refresh", _aware, propagate=True)


def core_engine(path: Path) -> Engine:
    """A fresh core database in ``path`` (a file: the app's threads share it)."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _functions(dbapi: Any, _record: Any) -> None:
        dbapi.create_function("pg_advisory_xact_lock", 1, lambda _key: None)
        dbapi.create_function("hashtext", 1, lambda _text: 1)

    CoreBase.metadata.create_all(engine)
    return engine
