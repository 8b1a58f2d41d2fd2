"""A random uid per subscriber, the only reference to a person that links in mails carry.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No table rebuild on SQLite: dropping the old subscriber table would cascade to every
    # subscription and consent. SQLite adds a NOT NULL column only with a default: '' (which
    # the unique index makes usable once at most; every row gets its own value below).
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "subscriber",
        sa.Column(
            "token_uid",
            sa.String(32),
            nullable=not sqlite,
            server_default=sa.text("''") if sqlite else None,
        ),
    )
    subscriber = sa.table("subscriber", sa.column("id", sa.Integer), sa.column("token_uid"))
    connection = op.get_bind()
    ids = connection.execute(sa.select(subscriber.c.id)).scalars().all()
    for subscriber_id in ids:
        connection.execute(
            subscriber.update()
            .where(subscriber.c.id == subscriber_id)
            .values(token_uid=secrets.token_urlsafe(16))
        )
    if not sqlite:
        op.alter_column("subscriber", "token_uid", existing_type=sa.String(32), nullable=False)
    op.create_index("ix_subscriber_token_uid", "subscriber", ["token_uid"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_subscriber_token_uid", "subscriber")
    op.drop_column("subscriber", "token_uid")
