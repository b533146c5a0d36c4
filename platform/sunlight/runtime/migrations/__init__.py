"""Alembic migrations for the two databases (portal, core), run without an alembic.ini.

Example::

    >>> from sunlight.runtime.migrations import upgrade
    >>> upgrade("core", "postgresql+psycopg://core:pw@db/core")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

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


def run_env(database: Database, metadata: MetaData) -> None:
    """The body of both ``env.py`` files: migrate one database under a lock, online."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set (use sunlight.runtime.migrations.upgrade)"
    table = version_table(database)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          version_table=table, compare_type=True)
        with context.begin_transaction():
            # Two processes migrating at once (two replicas starting) take turns.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock(hashtext('{table}'))")
            context.run_migrations()
    engine.dispose()
