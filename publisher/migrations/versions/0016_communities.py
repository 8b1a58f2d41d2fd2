"""Local communities (krajevne skupnosti): the parts of town an article concerns and a
resident follows, with an optional outline for the CAP feed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _link(table: str, owner: str) -> None:
    op.create_table(
        table,
        sa.Column(f"{owner}_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [f"{owner}_id"],
            [f"{owner}.id"],
            name=f"fk_{table}_{owner}_id_{owner}",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=f"fk_{table}_community_id_community",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(f"{owner}_id", "community_id", name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_community_id", table, ["community_id"])


def upgrade() -> None:
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("polygon", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_community"),
        sa.UniqueConstraint("slug", name="uq_community_slug"),
    )
    _link("article_community", "article")
    _link("subscriber_community", "subscriber")
    with op.batch_alter_table("article_revision") as batch:
        batch.add_column(sa.Column("communities", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("article_revision") as batch:
        batch.drop_column("communities")
    op.drop_table("subscriber_community")
    op.drop_table("article_community")
    op.drop_table("community")
