"""Alembic environment for the core database (see :func:`sunlight.migrations.run_env`)."""

import sunlight.exchange.models  # noqa: F401  (registers the exchange tables)
from sunlight.core.models import CoreBase
from sunlight.migrations import run_env

run_env("core", CoreBase.metadata)
