"""exchange: outbox, inbox, held events, dead letters, subordinate views, supervision orders,
catalogue baselines and adoptions

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-28 23:59:19.426268

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "core_0002"
down_revision: str | Sequence[str] | None = "core_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "baseline_adoptions",
        sa.Column("site", sa.String(length=6), nullable=False),
        sa.Column("issuer", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("localized", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("site", "issuer", "version"),
    )
    op.create_table(
        "catalogue_baselines",
        sa.Column("issuer", sa.String(length=6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("issuer", "version"),
    )
    op.create_table(
        "exchange_dead_letters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("claimed_source", sa.String(length=16), nullable=True),
        sa.Column("claimed_id", sa.String(length=64), nullable=True),
        sa.Column("claimed_type", sa.String(length=80), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_exchange_dead_letters_reason"), "exchange_dead_letters", ["reason"], unique=False
    )
    op.create_table(
        "exchange_event_inbox",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("via", sa.String(length=6), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index(
        op.f("ix_exchange_event_inbox_source"), "exchange_event_inbox", ["source"], unique=False
    )
    op.create_table(
        "exchange_held_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("held_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        sa.UniqueConstraint("source", "receipt", "seq"),
    )
    op.create_table(
        "exchange_outbox",
        sa.Column("seq", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("link", sa.String(length=6), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(
        op.f("ix_exchange_outbox_event_id"), "exchange_outbox", ["event_id"], unique=False
    )
    op.create_index(
        "ix_exchange_outbox_link_published",
        "exchange_outbox",
        ["link", "published_at"],
        unique=False,
    )
    op.create_index(
        "ix_exchange_outbox_pending",
        "exchange_outbox",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "subordinate_case_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("source", "receipt", "seq"),
    )
    op.create_table(
        "subordinate_cases",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("item_code", sa.String(length=40), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "receipt"),
    )
    op.create_table(
        "subordinate_stats",
        sa.Column("source", sa.String(length=6), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "supervision_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=6), nullable=False),
        sa.Column("target", sa.String(length=6), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_supervision_orders_issuer"), "supervision_orders", ["issuer"], unique=False
    )
    op.create_index(
        op.f("ix_supervision_orders_receipt"), "supervision_orders", ["receipt"], unique=False
    )
    op.create_index(
        op.f("ix_supervision_orders_target"), "supervision_orders", ["target"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_supervision_orders_target"), table_name="supervision_orders")
    op.drop_index(op.f("ix_supervision_orders_receipt"), table_name="supervision_orders")
    op.drop_index(op.f("ix_supervision_orders_issuer"), table_name="supervision_orders")
    op.drop_table("supervision_orders")
    op.drop_table("subordinate_stats")
    op.drop_table("subordinate_cases")
    op.drop_table("subordinate_case_events")
    op.drop_index(
        "ix_exchange_outbox_pending",
        table_name="exchange_outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_index("ix_exchange_outbox_link_published", table_name="exchange_outbox")
    op.drop_index(op.f("ix_exchange_outbox_event_id"), table_name="exchange_outbox")
    op.drop_table("exchange_outbox")
    op.drop_table("exchange_held_events")
    op.drop_index(op.f("ix_exchange_event_inbox_source"), table_name="exchange_event_inbox")
    op.drop_table("exchange_event_inbox")
    op.drop_index(op.f("ix_exchange_dead_letters_reason"), table_name="exchange_dead_letters")
    op.drop_table("exchange_dead_letters")
    op.drop_table("catalogue_baselines")
    op.drop_table("baseline_adoptions")
