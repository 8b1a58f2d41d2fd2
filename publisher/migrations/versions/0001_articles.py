"""Article store: articles, topics and their link.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topic"),
        sa.UniqueConstraint("slug", name="uq_topic_slug"),
    )
    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(500), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("image_caption", sa.Text(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("status IN ('published', 'withdrawn')", name="ck_article_status"),
        sa.PrimaryKeyConstraint("id", name="pk_article"),
        sa.UniqueConstraint("uid", name="uq_article_uid"),
        sa.UniqueConstraint("external_id", name="uq_article_external_id"),
        sa.UniqueConstraint("slug", name="uq_article_slug"),
    )
    op.create_index("ix_article_status_published_at", "article", ["status", "published_at"])
    op.create_table(
        "article_topic",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name="fk_article_topic_article_id_article",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"], name="fk_article_topic_topic_id_topic", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", "topic_id", name="pk_article_topic"),
    )
    op.create_index("ix_article_topic_topic_id", "article_topic", ["topic_id"])


def downgrade() -> None:
    op.drop_table("article_topic")
    op.drop_table("article")
    op.drop_table("topic")
