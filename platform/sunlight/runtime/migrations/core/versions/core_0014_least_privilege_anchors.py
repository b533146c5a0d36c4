"""least privilege and audit anchors: signed chain heads; core may only read and append the chain

Revision ID: core_0014
Revises: core_0013
Create Date: 2026-12-01 21:00:00.000000

The tables belong to the owner role that runs the migrations (``core_owner``); this states
what the application role ``core`` may do (:mod:`sunlight.runtime.migrations.grants`).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sunlight.runtime.migrations import grants

# revision identifiers, used by Alembic.
revision: str = "core_0014"
down_revision: str | Sequence[str] | None = "core_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "audit_anchors",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "seq"),
    )
    grants.apply(op.get_bind(), "core")


def downgrade() -> None:
    """Downgrade schema (the grants stay: they are what the owner states)."""
    op.drop_table("audit_anchors")
