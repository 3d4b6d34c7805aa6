"""single sign-on: who a user is at their OpenID Connect provider

- ``users.oidc_issuer``, ``users.oidc_subject``: the provider's issuer URL and its ``sub``
  of the person (both empty for local users); unique together.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("oidc_issuer", sa.String(300), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(255), nullable=True))
    # A unique index, not a constraint: SQLite adds it without rebuilding the table.
    op.create_index("uq_users_oidc", "users", ["oidc_issuer", "oidc_subject"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_oidc", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("oidc_subject")
        batch.drop_column("oidc_issuer")
