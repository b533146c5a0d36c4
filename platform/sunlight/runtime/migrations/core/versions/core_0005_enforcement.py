"""enforcement: the officer registry (imported revisions) and staff-opened enforcement cases

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-01 16:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "core_0005"
down_revision: str | Sequence[str] | None = "core_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "officer_registries",
        sa.Column("revision", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=6), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("officers", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.Column("in_force", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )
    op.create_index("uq_officer_registries_in_force", "officer_registries", ["in_force"],
                    unique=True, postgresql_where=sa.text("in_force"))
    op.create_table(
        "enforcement_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site", sa.String(length=6), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("item_version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("party_kind", sa.String(length=8), nullable=False),
        sa.Column("party_name", sa.String(length=200), nullable=False),
        sa.Column("party_id_number", sa.String(length=18), nullable=False),
        sa.Column("records", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("band", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("registry_revision", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["department"], ["departments.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_enforcement_cases_item_code"), "enforcement_cases",
                    ["item_code"], unique=False)
    op.create_index("ix_enforcement_cases_department_stage", "enforcement_cases",
                    ["department", "stage"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_enforcement_cases_department_stage", table_name="enforcement_cases")
    op.drop_index(op.f("ix_enforcement_cases_item_code"), table_name="enforcement_cases")
    op.drop_table("enforcement_cases")
    op.drop_index("uq_officer_registries_in_force", table_name="officer_registries",
                  postgresql_where=sa.text("in_force"))
    op.drop_table("officer_registries")
