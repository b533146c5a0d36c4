"""guides and history: blank forms (格式文书) served by the portal; an application's history

Revision ID: portal_0007
Revises: portal_0006
Create Date: 2026-12-02 00:10:00.000000

``catalogue_files`` holds the blank forms of the published items (the gateway splits them
out of the item's document); ``application_events`` the history an applicant sees. The
grants are stated again (:mod:`sunlight.runtime.migrations.grants`) for the gateway's share.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sunlight.runtime.migrations import grants

# revision identifiers, used by Alembic.
revision: str = "portal_0007"
down_revision: str | Sequence[str] | None = "portal_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "catalogue_files",
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("item_version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("item_code", "position"),
    )
    op.create_table(
        "application_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_application_events_application_id", "application_events",
                    ["application_id"], unique=False)
    grants.apply(op.get_bind(), "portal")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_application_events_application_id", table_name="application_events")
    op.drop_table("application_events")
    op.drop_table("catalogue_files")
