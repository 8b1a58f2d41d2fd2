"""Editions and the delivery ledger: send jobs, their messages, deliveries, workers, rates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "send_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("envelope_from", sa.String(320), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'paused', 'cancelled', 'done')", name="ck_send_job_state"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_send_job"),
    )
    op.create_table(
        "job_message",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("template", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["send_job.id"], name="fk_job_message_job_id_send_job", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "language", name="pk_job_message"),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("last_reply", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'cancelled')",
            name="ck_delivery_status",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["send_job.id"], name="fk_delivery_job_id_send_job", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name="fk_delivery_subscriber_id_subscriber",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
        sa.UniqueConstraint("job_id", "subscriber_id", name="uq_delivery_job_id_subscriber_id"),
    )
    op.create_index("ix_delivery_job_id_status_id", "delivery", ["job_id", "status", "id"])
    op.create_index("ix_delivery_subscriber_id", "delivery", ["subscriber_id"])
    op.create_table(
        "worker",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("heartbeat_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_worker"),
    )
    op.create_table(
        "rate_counter",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rate_counter"),
    )
    op.create_table(
        "edition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(16), nullable=False),
        sa.Column("period_kind", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("article_ids", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("approved_at", TZ, nullable=True),
        sa.Column("approved_by", sa.String(320), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'approved')", name="ck_edition_status"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name="fk_edition_list_id_mailing_list",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["send_job.id"], name="fk_edition_job_id_send_job", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_edition"),
        sa.UniqueConstraint("list_id", "period_key", name="uq_edition_list_id_period_key"),
    )
    op.create_table(
        "edition_content",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["edition.id"],
            name="fk_edition_content_edition_id_edition",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", "language", name="pk_edition_content"),
    )


def downgrade() -> None:
    op.drop_table("edition_content")
    op.drop_table("edition")
    op.drop_table("rate_counter")
    op.drop_table("worker")
    op.drop_table("delivery")
    op.drop_table("job_message")
    op.drop_table("send_job")
