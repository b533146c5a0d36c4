"""case documents: the decision document (准予 / 不予行政许可决定书) of a decided case

Revision ID: core_0016
Revises: core_0015
Create Date: 2026-12-02 03:40:00.000000

``case_documents`` keeps each decided case's PDF with its number and SHA-256;
``case_document_counters`` numbers them per department, kind and year
(:mod:`sunlight.runtime.core.licence_decision`). The application role ``core`` reads and
writes both through the default privileges core_0014 set.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "core_0016"
down_revision: str | Sequence[str] | None = "core_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "case_document_counters",
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("department", "kind", "year"),
    )
    op.create_table(
        "case_documents",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
        sa.UniqueConstraint("department", "kind", "year", "serial",
                            name="uq_case_documents_serial"),
        sa.UniqueConstraint("number", name="uq_case_documents_number"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("case_documents")
    op.drop_table("case_document_counters")
