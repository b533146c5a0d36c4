"""Alembic environment for the core database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from sunlight.core.models import CoreBase
from sunlight.migrations import version_table

target_metadata = CoreBase.metadata
VERSION_TABLE = version_table("core")


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
            compare_type=True,
        )
        with context.begin_transaction():
            # Two processes migrating at once (two replicas starting) take turns.
            connection.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext('alembic_version_core'))"
            )
            context.run_migrations()
    engine.dispose()


run_migrations()
