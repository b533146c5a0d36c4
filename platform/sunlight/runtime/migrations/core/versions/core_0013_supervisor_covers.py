"""supervisor coverage: the departments a supervisor (监察室) account watches

Existing supervisor accounts keep today's behaviour: they cover the whole site
(``["all"]``), and their tokens (which carry no coverage) are revoked — they sign in again.

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-12-01 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "core_0013"
down_revision: str | Sequence[str] | None = "core_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("accounts", sa.Column("covers", postgresql.JSONB(astext_type=sa.Text()),
                                        nullable=True))
    op.execute("UPDATE accounts SET covers = CAST('[\"all\"]' AS jsonb), "
               "token_version = token_version + 1 "
               "WHERE roles @> CAST('[\"supervisor\"]' AS jsonb)")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("accounts", "covers")
