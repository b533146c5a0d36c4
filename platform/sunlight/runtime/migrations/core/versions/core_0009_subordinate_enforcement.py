"""subordinate enforcement cases: what subordinates report of their 执法办案, de-identified

The cases (the step with the most records), the refused attempts legal supervision counts
(once each) and the 行政复议/行政诉讼 (latest state).

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
    op.create_table(
        "subordinate_enforcement_refusals",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("refusal_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("refused_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("source", "refusal_id"),
    )
    op.create_index("ix_subordinate_enforcement_refusals_month",
                    "subordinate_enforcement_refusals", ["month"], unique=False)
    op.create_table(
        "subordinate_enforcement_challenges",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("body", sa.String(length=200), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("source", "challenge_id"),
    )
    op.create_index(op.f("ix_subordinate_enforcement_challenges_filed_on"),
                    "subordinate_enforcement_challenges", ["filed_on"], unique=False)
    op.create_index(op.f("ix_subordinate_enforcement_challenges_decided_on"),
                    "subordinate_enforcement_challenges", ["decided_on"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_subordinate_enforcement_challenges_decided_on"),
                  table_name="subordinate_enforcement_challenges")
    op.drop_index(op.f("ix_subordinate_enforcement_challenges_filed_on"),
                  table_name="subordinate_enforcement_challenges")
    op.drop_table("subordinate_enforcement_challenges")
    op.drop_index("ix_subordinate_enforcement_refusals_month",
                  table_name="subordinate_enforcement_refusals")
    op.drop_table("subordinate_enforcement_refusals")
    op.drop_index("ix_subordinate_enforcement_cases_department",
                  table_name="subordinate_enforcement_cases")
    op.drop_table("subordinate_enforcement_cases")
