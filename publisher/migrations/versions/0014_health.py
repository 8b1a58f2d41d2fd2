"""The relay as last seen: when a process last spoke with it and when it last could not
(``/readyz`` reports it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "relay_seen",
        sa.Column("relay", sa.String(300), nullable=False),
        sa.Column("last_ok_at", TZ, nullable=True),
        sa.Column("last_failed_at", TZ, nullable=True),
        sa.Column("last_failure", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("relay", name="pk_relay_seen"),
    )


def downgrade() -> None:
    op.drop_table("relay_seen")
