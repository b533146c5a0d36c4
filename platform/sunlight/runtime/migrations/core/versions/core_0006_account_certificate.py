"""accounts: an officer account's own certificate number (执法证号), unique when set

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-01 18:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "core_0006"
down_revision: str | Sequence[str] | None = "core_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("accounts", sa.Column("certificate", sa.String(length=40), nullable=True))
    op.create_index("uq_accounts_certificate", "accounts", ["certificate"], unique=True,
                    postgresql_where=sa.text("certificate IS NOT NULL"))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("uq_accounts_certificate", table_name="accounts",
                  postgresql_where=sa.text("certificate IS NOT NULL"))
    op.drop_column("accounts", "certificate")
