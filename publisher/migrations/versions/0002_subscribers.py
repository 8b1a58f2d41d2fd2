"""Subscriber register: mailing lists and their topics, subscribers, subscriptions, topic
choices, consents and suppressions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGES = "language IN ('sl', 'en')"
SOURCES = "source IN ('web', 'import', 'api', 'staff')"


def upgrade() -> None:
    op.create_table(
        "mailing_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(LANGUAGES, name="ck_mailing_list_language"),
        sa.PrimaryKeyConstraint("id", name="pk_mailing_list"),
        sa.UniqueConstraint("slug", name="uq_mailing_list_slug"),
    )
    op.create_table(
        "mailing_list_topic",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name="fk_mailing_list_topic_list_id_mailing_list",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name="fk_mailing_list_topic_topic_id_topic",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "topic_id", name="pk_mailing_list_topic"),
    )
    op.create_index("ix_mailing_list_topic_topic_id", "mailing_list_topic", ["topic_id"])
    # AUTOINCREMENT: SQLite must never hand an erased subscriber's id to someone new, or links
    # signed for the erased person would act for the new one. (PostgreSQL never reuses ids.)
    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(LANGUAGES, name="ck_subscriber_language"),
        sa.PrimaryKeyConstraint("id", name="pk_subscriber"),
        sa.UniqueConstraint("email_key", name="uq_subscriber_email_key"),
        sa.UniqueConstraint("address_hash", name="uq_subscriber_address_hash"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'unsubscribed')", name="ck_subscription_status"
        ),
        sa.CheckConstraint(SOURCES, name="ck_subscription_source"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name="fk_subscription_subscriber_id_subscriber",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name="fk_subscription_list_id_mailing_list",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_subscription"),
        sa.UniqueConstraint(
            "subscriber_id", "list_id", name="uq_subscription_subscriber_id_list_id"
        ),
    )
    op.create_index(
        "ix_subscription_list_id_status_subscriber_id",
        "subscription",
        ["list_id", "status", "subscriber_id"],
    )
    op.create_table(
        "subscriber_topic",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name="fk_subscriber_topic_subscriber_id_subscriber",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name="fk_subscriber_topic_topic_id_topic",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "topic_id", name="pk_subscriber_topic"),
    )
    op.create_index("ix_subscriber_topic_topic_id", "subscriber_topic", ["topic_id"])
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.Column("wording_version", sa.String(80), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.CheckConstraint(SOURCES, name="ck_consent_source"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name="fk_consent_subscriber_id_subscriber",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["mailing_list.id"],
            name="fk_consent_list_id_mailing_list",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
    )
    op.create_index("ix_consent_subscriber_id", "consent", ["subscriber_id"])
    op.create_table(
        "suppression",
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('unsubscribed', 'erased', 'hard_bounce', 'complaint')",
            name="ck_suppression_reason",
        ),
        sa.PrimaryKeyConstraint("address_hash", name="pk_suppression"),
    )


def downgrade() -> None:
    op.drop_table("suppression")
    op.drop_table("consent")
    op.drop_table("subscriber_topic")
    op.drop_table("subscription")
    op.drop_table("subscriber")
    op.drop_table("mailing_list_topic")
    op.drop_table("mailing_list")
