"""Bounces and complaints: one row per report about a copy, soft bounces as a reason, and
when the circuit breaker paused a send.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = "reason IN ('unsubscribed', 'erased', 'hard_bounce', 'soft_bounce', 'complaint')"
OLD_REASONS = "reason IN ('unsubscribed', 'erased', 'hard_bounce', 'complaint')"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("suppression") as batch:
        batch.drop_constraint("ck_suppression_reason", type_="check")
        batch.create_check_constraint("ck_suppression_reason", REASONS)
    op.create_index("ix_delivery_message_id", "delivery", ["message_id"])
    with op.batch_alter_table("send_job") as batch:
        batch.add_column(sa.Column("breaker_tripped_at", TZ, nullable=True))
    op.create_table(
        "bounce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('hard', 'soft', 'delayed', 'complaint', 'other')", name="ck_bounce_kind"
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name="fk_bounce_delivery_id_delivery",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["send_job.id"], name="fk_bounce_job_id_send_job", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name="fk_bounce_subscriber_id_subscriber",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bounce"),
        sa.UniqueConstraint("fingerprint", name="uq_bounce_fingerprint"),
    )
    op.create_index("ix_bounce_delivery_id", "bounce", ["delivery_id"])
    op.create_index("ix_bounce_job_id", "bounce", ["job_id"])
    op.create_index("ix_bounce_subscriber_id", "bounce", ["subscriber_id"])
    op.create_index(
        "ix_bounce_address_hash_kind_received_at", "bounce", ["address_hash", "kind", "received_at"]
    )


def downgrade() -> None:
    op.drop_table("bounce")
    op.drop_index("ix_delivery_message_id", table_name="delivery")
    with op.batch_alter_table("send_job") as batch:
        batch.drop_column("breaker_tripped_at")
    op.execute("DELETE FROM suppression WHERE reason = 'soft_bounce'")
    with op.batch_alter_table("suppression") as batch:
        batch.drop_constraint("ck_suppression_reason", type_="check")
        batch.create_check_constraint("ck_suppression_reason", OLD_REASONS)
