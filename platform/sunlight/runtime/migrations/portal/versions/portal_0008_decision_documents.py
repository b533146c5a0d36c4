"""decision documents: a decided application's 准予 / 不予行政许可决定书, for its applicant

Revision ID: portal_0008
Revises: portal_0007
Create Date: 2026-12-02 03:40:00.000000

The gateway writes ``decision_documents`` from core's ``case.document`` records (their bytes
checked against their SHA-256); the portal serves them to the holder of the application's
secret. The grants are stated again (:mod:`sunlight.runtime.migrations.grants`) for the
gateway's share.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sunlight.runtime.migrations import grants

# revision identifiers, used by Alembic.
revision: str = "portal_0008"
down_revision: str | Sequence[str] | None = "portal_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "decision_documents",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("application_id"),
    )
    grants.apply(op.get_bind(), "portal")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("decision_documents")
