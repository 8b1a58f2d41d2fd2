"""Rate counters per relay: their names carry the relay's host and port, so they grow longer.

The old counters ("bucket", "day:YYYY-MM-DD") are no longer read; the day's count starts
again under the relay's name.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rate_counter") as batch:
        batch.alter_column(
            "name", existing_type=sa.String(64), type_=sa.String(300), existing_nullable=False
        )


def downgrade() -> None:
    op.execute("DELETE FROM rate_counter WHERE length(name) > 64")
    with op.batch_alter_table("rate_counter") as batch:
        batch.alter_column(
            "name", existing_type=sa.String(300), type_=sa.String(64), existing_nullable=False
        )
