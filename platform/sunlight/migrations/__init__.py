"""Alembic migrations for the two databases (portal, core), run without an alembic.ini.

Example::

    >>> from sunlight.migrations import upgrade
    >>> upgrade("core", "postgresql+psycopg://core:pw@db/core")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config

Database = Literal["portal", "core"]
HERE = Path(__file__).resolve().parent


def version_table(database: Database) -> str:
    """Each database keeps its own version table, so one server may host both."""
    return f"alembic_version_{database}"


def alembic_config(database: Database, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / database))
    # '%' must be escaped for ConfigParser interpolation (passwords may hold it).
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database"] = database
    return cfg


def upgrade(database: Database, url: str, revision: str = "head") -> None:
    """Bring ``database`` to ``revision``; safe to run again (a no-op at head)."""
    command.upgrade(alembic_config(database, url), revision)


def current(database: Database, url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"version_table": version_table(database)}
            return MigrationContext.configure(conn, opts=opts).get_current_revision()
    finally:
        engine.dispose()
