"""gateway parking: outbox retries with backoff and parking; parked outward records

Revision ID: portal_0003
Revises: portal_0002
Create Date: 2026-12-01 18:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "portal_0003"
down_revision: str | Sequence[str] | None = "portal_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["created_at"], unique=False,
                    postgresql_where=sa.text(
                        "delivered_at IS NULL AND rejected_at IS NULL AND parked_at IS NULL"))
    op.create_table(
        "gateway_parked",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("record_id"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("gateway_parked")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["created_at"], unique=False,
                    postgresql_where=sa.text("delivered_at IS NULL AND rejected_at IS NULL"))
    op.drop_column("outbox", "parked_at")
    op.drop_column("outbox", "next_attempt_at")
