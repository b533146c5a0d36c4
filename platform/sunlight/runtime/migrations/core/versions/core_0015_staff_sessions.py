"""staff sessions: the staff pages' server-side sessions (hashed id, account, CSRF token)

Revision ID: core_0015
Revises: core_0014
Create Date: 2026-12-02 00:00:00.000000

The application role ``core`` reads and writes the new table through the default
privileges core_0014 set (:mod:`sunlight.runtime.migrations.grants`).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "core_0015"
down_revision: str | Sequence[str] | None = "core_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["accounts.username"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index(op.f("ix_staff_sessions_username"), "staff_sessions", ["username"],
                    unique=False)
    op.create_index(op.f("ix_staff_sessions_last_seen_at"), "staff_sessions",
                    ["last_seen_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_staff_sessions_last_seen_at"), table_name="staff_sessions")
    op.drop_index(op.f("ix_staff_sessions_username"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
