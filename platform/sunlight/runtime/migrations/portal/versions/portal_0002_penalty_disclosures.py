"""penalty disclosures: 行政处罚结果公示, the latest record per case

Revision ID: portal_0002
Revises: portal_0001
Create Date: 2026-12-02 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "portal_0002"
down_revision: str | Sequence[str] | None = "portal_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "penalty_disclosures",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("department_name", sa.String(length=100), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("party_kind", sa.String(length=8), nullable=False),
        sa.Column("party_name", sa.String(length=200), nullable=False),
        sa.Column("party_id", sa.String(length=18), nullable=False),
        sa.Column("legal_representative", sa.String(length=100), nullable=False),
        sa.Column("violation", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("penalty", sa.String(length=200), nullable=False),
        sa.Column("amount_yuan", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("publish_by", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_penalty_disclosures_department_decided", "penalty_disclosures",
                    ["department", "decided_on"], unique=False)
    op.create_index("ix_penalty_disclosures_decided", "penalty_disclosures", ["decided_on"],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_penalty_disclosures_decided", table_name="penalty_disclosures")
    op.drop_index("ix_penalty_disclosures_department_decided", table_name="penalty_disclosures")
    op.drop_table("penalty_disclosures")
