"""Alembic environment for the portal database (see :func:`sunlight.runtime.migrations.run_env`)."""

from sunlight.runtime.migrations import run_env
from sunlight.runtime.portal.models import PortalBase

run_env("portal", PortalBase.metadata)
