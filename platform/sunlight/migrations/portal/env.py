"""Alembic environment for the portal database (see :func:`sunlight.migrations.run_env`)."""

from sunlight.migrations import run_env
from sunlight.portal.models import PortalBase

run_env("portal", PortalBase.metadata)
