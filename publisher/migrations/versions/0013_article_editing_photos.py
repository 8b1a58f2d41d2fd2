"""Articles written and corrected in the admin (drafts, revisions, a version for stale forms),
photos (the photo table, the bytes of each size on PostgreSQL), and an edition's editor's
note and chosen articles.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
STATUSES = "status IN ('draft', 'published', 'withdrawn')"
OLD_STATUSES = "status IN ('published', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sizes", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_photo"),
        sa.UniqueConstraint("key", name="uq_photo_key"),
    )
    op.create_table(
        "media_object",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_media_object"),
    )
    with op.batch_alter_table("article") as batch:
        batch.drop_constraint("ck_article_status", type_="check")
        batch.create_check_constraint("ck_article_status", STATUSES)
        batch.add_column(sa.Column("body_markdown", sa.Text(), nullable=True))
        batch.add_column(sa.Column("photo_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("image_alt", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("image_credit", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("image_source", sa.Text(), nullable=True))
        batch.add_column(sa.Column("edited_at", TZ, nullable=True))
        batch.add_column(sa.Column("edited_by", sa.String(320), nullable=False, server_default=""))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.create_foreign_key(
            "fk_article_photo_id_photo", "photo", ["photo_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("article") as batch:
        batch.alter_column("image_alt", server_default=None)
        batch.alter_column("image_credit", server_default=None)
        batch.alter_column("edited_by", server_default=None)
    op.create_table(
        "article_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=True),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=True),
        sa.Column("image_caption", sa.Text(), nullable=False),
        sa.Column("image_alt", sa.Text(), nullable=False),
        sa.Column("image_credit", sa.Text(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('imported', 'edited', 'held')", name="ck_article_revision_kind"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name="fk_article_revision_article_id_article",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photo.id"],
            name="fk_article_revision_photo_id_photo",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_article_revision"),
    )
    op.create_index("ix_article_revision_article_id_id", "article_revision", ["article_id", "id"])
    with op.batch_alter_table("edition") as batch:
        batch.add_column(sa.Column("chosen_ids", sa.Text(), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("edition") as batch:
        batch.alter_column("notes", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("edition") as batch:
        batch.drop_column("notes")
        batch.drop_column("chosen_ids")
    op.drop_table("article_revision")
    op.execute("UPDATE article SET status = 'withdrawn' WHERE status = 'draft'")
    with op.batch_alter_table("article") as batch:
        batch.drop_constraint("fk_article_photo_id_photo", type_="foreignkey")
        for column in (
            "version",
            "edited_by",
            "edited_at",
            "image_source",
            "image_credit",
            "image_alt",
            "photo_id",
            "body_markdown",
        ):
            batch.drop_column(column)
        batch.drop_constraint("ck_article_status", type_="check")
        batch.create_check_constraint("ck_article_status", OLD_STATUSES)
    op.drop_table("media_object")
    op.drop_table("photo")
