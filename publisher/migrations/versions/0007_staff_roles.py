"""Staff roles: every staff account and API token carries one; those already there are admins.

Existing accounts and tokens could do everything until now, so they become ``admin`` and
nothing breaks for a current installation; new ones default to ``editor`` in the code.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("staff_account", "api_token")
ROLES = "role IN ('editor', 'approver', 'admin')"


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("role", sa.String(20), nullable=False, server_default="admin")
            )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("role", server_default=None, existing_type=sa.String(20))
            batch.create_check_constraint(f"ck_{table}_role", ROLES)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_role", type_="check")
            batch.drop_column("role")
