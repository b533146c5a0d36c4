"""orders and inspection: 督办 orders to own departments, review (accept/return),
escalation, automatic orders; random inspection draws and samples

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-01 14:30:00.000000

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "core_0004"
down_revision: str | Sequence[str] | None = "core_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.alter_column("supervision_orders", "receipt", existing_type=sa.String(length=40),
                    nullable=True)
    columns: list[sa.Column[Any]] = [
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("returns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", _TS, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("escalated_at", _TS, nullable=True),
        sa.Column("escalated_to", sa.String(length=6), nullable=True),
        sa.Column("escalated_from", sa.String(length=6), nullable=True),
        sa.Column("history", postgresql.JSONB(astext_type=sa.Text()), server_default="[]",
                  nullable=False),
    ]
    for column in columns:
        op.add_column("supervision_orders", column)
    # Orders received before this revision: their department is the local case's.
    op.execute("UPDATE supervision_orders o SET department = c.department FROM cases c "
               "WHERE o.department IS NULL AND c.receipt = o.receipt")
    op.create_index(op.f("ix_supervision_orders_department"), "supervision_orders",
                    ["department"], unique=False)
    op.create_index(op.f("ix_supervision_orders_escalated_from"), "supervision_orders",
                    ["escalated_from"], unique=False)
    op.create_index("uq_supervision_orders_auto", "supervision_orders",
                    ["issuer", "target", "receipt", "rule_id"], unique=True,
                    postgresql_where=sa.text("rule_id IS NOT NULL"))
    op.create_table(
        "inspection_draws",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("population_sha256", sa.String(length=64), nullable=False),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.Column("drawn_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["department"], ["departments.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inspection_draws_month_department", "inspection_draws",
                    ["month", "department"], unique=False)
    op.create_table(
        "inspection_samples",
        sa.Column("draw_id", sa.Uuid(), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["draw_id"], ["inspection_draws.id"]),
        sa.PrimaryKeyConstraint("draw_id", "receipt"),
    )


def downgrade() -> None:
    """Downgrade schema (orders to a department without a case's receipt are dropped)."""
    op.drop_table("inspection_samples")
    op.drop_index("ix_inspection_draws_month_department", table_name="inspection_draws")
    op.drop_table("inspection_draws")
    op.drop_index("uq_supervision_orders_auto", table_name="supervision_orders",
                  postgresql_where=sa.text("rule_id IS NOT NULL"))
    op.drop_index(op.f("ix_supervision_orders_escalated_from"), table_name="supervision_orders")
    op.drop_index(op.f("ix_supervision_orders_department"), table_name="supervision_orders")
    for name in ("history", "escalated_from", "escalated_to", "escalated_at", "review_note",
                 "reviewed_at", "reviewed_by", "returns", "rule_id", "department"):
        op.drop_column("supervision_orders", name)
    op.execute("DELETE FROM supervision_orders WHERE receipt IS NULL")
    op.alter_column("supervision_orders", "receipt", existing_type=sa.String(length=40),
                    nullable=False)
