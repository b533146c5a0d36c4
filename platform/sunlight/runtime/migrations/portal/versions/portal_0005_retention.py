"""retention: when an application's materials were deleted and its numbers masked

Revision ID: portal_0005
Revises: portal_0004
Create Date: 2026-12-01 21:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "portal_0005"
down_revision: str | Sequence[str] | None = "portal_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("applications", sa.Column("purged_at", sa.DateTime(timezone=True),
                                            nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("applications", "purged_at")
