"""enforcement: decision numbers per department and year, and decision documents (PDF)

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "core_0007"
down_revision: str | Sequence[str] | None = "core_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "decision_number_counters",
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department"], ["departments.code"]),
        sa.PrimaryKeyConstraint("department", "year"),
    )
    op.create_table(
        "enforcement_documents",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["enforcement_cases.id"]),
        sa.ForeignKeyConstraint(["department"], ["departments.code"]),
        sa.PrimaryKeyConstraint("case_id"),
        sa.UniqueConstraint("department", "year", "serial",
                            name="uq_enforcement_documents_serial"),
        sa.UniqueConstraint("number", name="uq_enforcement_documents_number"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("enforcement_documents")
    op.drop_table("decision_number_counters")
