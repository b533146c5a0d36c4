"""lights: supervision rule sets, case lights and their history, subordinates' lights,
data-file baselines

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01 15:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "core_0003"
down_revision: str | Sequence[str] | None = "core_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSONB = postgresql.JSONB(astext_type=sa.Text())
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "supervision_rule_sets",
        sa.Column("revision", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.Column("in_force", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )
    op.create_index("uq_supervision_rule_sets_in_force", "supervision_rule_sets", ["in_force"],
                    unique=True, postgresql_where=sa.text("in_force"))
    op.create_table(
        "case_lights",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("rule_ids", _JSONB, nullable=False),
        sa.Column("hits", _JSONB, nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("rules_revision", sa.Integer(), nullable=True),
        sa.Column("auto_ordered", _JSONB, nullable=False),
        sa.Column("changed_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index(op.f("ix_case_lights_light"), "case_lights", ["light"], unique=False)
    op.create_table(
        "case_light_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.Column("from_light", sa.String(length=8), nullable=True),
        sa.Column("to_light", sa.String(length=8), nullable=False),
        sa.Column("rule_ids", _JSONB, nullable=False),
        sa.Column("hits", _JSONB, nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_light_history_case_id"), "case_light_history", ["case_id"],
                    unique=False)
    op.create_table(
        "subordinate_lights",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("rule_ids", _JSONB, nullable=False),
        sa.Column("hits", _JSONB, nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("source", "receipt"),
    )
    op.create_index(op.f("ix_subordinate_lights_department"), "subordinate_lights",
                    ["department"], unique=False)
    op.create_index(op.f("ix_subordinate_lights_light"), "subordinate_lights", ["light"],
                    unique=False)
    op.create_table(
        "data_baselines",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("issuer", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("kind", "issuer", "version"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("data_baselines")
    op.drop_index(op.f("ix_subordinate_lights_light"), table_name="subordinate_lights")
    op.drop_index(op.f("ix_subordinate_lights_department"), table_name="subordinate_lights")
    op.drop_table("subordinate_lights")
    op.drop_index(op.f("ix_case_light_history_case_id"), table_name="case_light_history")
    op.drop_table("case_light_history")
    op.drop_index(op.f("ix_case_lights_light"), table_name="case_lights")
    op.drop_table("case_lights")
    op.drop_index("uq_supervision_rule_sets_in_force", table_name="supervision_rule_sets")
    op.drop_table("supervision_rule_sets")
