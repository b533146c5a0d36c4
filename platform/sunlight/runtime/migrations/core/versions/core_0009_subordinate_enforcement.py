"""subordinate enforcement cases: what subordinates report of their 执法办案, de-identified

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-12-01 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "core_0009"
down_revision: str | Sequence[str] | None = "core_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSONB = postgresql.JSONB(astext_type=sa.Text())
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "subordinate_enforcement_cases",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("item_version", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("band", _JSONB, nullable=True),
        sa.Column("records", _JSONB, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("source", "case_id"),
    )
    op.create_index("ix_subordinate_enforcement_cases_department",
                    "subordinate_enforcement_cases", ["department"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_subordinate_enforcement_cases_department",
                  table_name="subordinate_enforcement_cases")
    op.drop_table("subordinate_enforcement_cases")
