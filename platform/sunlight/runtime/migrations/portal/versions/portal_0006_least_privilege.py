"""least privilege: the gateway reads the outbox and appends crossings; the portal reads them

Revision ID: portal_0006
Revises: portal_0005
Create Date: 2026-12-01 21:00:00.000000

The tables belong to the owner role that runs the migrations (``portal_owner``); this states
what the application roles ``portal`` and ``gateway`` may do
(:mod:`sunlight.runtime.migrations.grants`).

"""

from collections.abc import Sequence

from alembic import op

from sunlight.runtime.migrations import grants

# revision identifiers, used by Alembic.
revision: str = "portal_0006"
down_revision: str | Sequence[str] | None = "portal_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    grants.apply(op.get_bind(), "portal")


def downgrade() -> None:
    """Downgrade schema (nothing: the grants are what the owner states)."""
