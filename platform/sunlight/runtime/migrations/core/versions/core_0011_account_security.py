"""account security: token versions (revocation), admins' TOTP secret, sign-in throttle

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-12-01 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "core_0011"
down_revision: str | Sequence[str] | None = "core_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("accounts", sa.Column("token_version", sa.Integer(), server_default="0",
                                        nullable=False))
    op.add_column("accounts", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", _TS, nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(op.f("ix_signin_throttle_last_failure_at"), "signin_throttle",
                    ["last_failure_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_signin_throttle_last_failure_at"), table_name="signin_throttle")
    op.drop_table("signin_throttle")
    op.drop_column("accounts", "totp_secret")
    op.drop_column("accounts", "token_version")
