"""draft ids: a draft is named by an opaque draft id; the receipt is issued at submission

Revision ID: portal_0004
Revises: portal_0003
Create Date: 2026-12-01 21:00:00.000000

Rows that already exist keep their receipt and get a random draft id of the same shape as
new ones (``draft-`` and 24 URL-safe characters, from two gen_random_uuid's 244 random bits).
``receipt`` becomes nullable: a draft has none until it is submitted. The index on
``(status, created_at)`` serves the purge of drafts never submitted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "portal_0004"
down_revision: str | Sequence[str] | None = "portal_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("applications", sa.Column("draft_id", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE applications SET draft_id = 'draft-' || substr(translate(encode("
        "decode(replace(gen_random_uuid()::text, '-', '') "
        "|| replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/=', '-_'), 1, 24)")
    op.alter_column("applications", "draft_id", nullable=False)
    op.create_unique_constraint("applications_draft_id_key", "applications", ["draft_id"])
    op.alter_column("applications", "receipt", existing_type=sa.String(length=40),
                    nullable=True)
    op.create_index("ix_applications_status_created", "applications",
                    ["status", "created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema (drafts without a receipt cannot be kept: they are removed)."""
    op.drop_index("ix_applications_status_created", table_name="applications")
    op.execute("DELETE FROM materials WHERE application_id IN "
               "(SELECT id FROM applications WHERE receipt IS NULL)")
    op.execute("DELETE FROM applications WHERE receipt IS NULL")
    op.alter_column("applications", "receipt", existing_type=sa.String(length=40),
                    nullable=False)
    op.drop_constraint("applications_draft_id_key", "applications", type_="unique")
    op.drop_column("applications", "draft_id")
