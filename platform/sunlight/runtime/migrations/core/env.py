"""Alembic environment for the core database (see :func:`sunlight.runtime.migrations.run_env`)."""

import sunlight.runtime.exchange.models  # noqa: F401  (registers the exchange tables)
from sunlight.runtime.core.models import CoreBase
from sunlight.runtime.migrations import run_env

run_env("core", CoreBase.metadata)
