"""how far each agent's clock is off, from its heartbeats

- ``agent_status.clock_offset_s``: seconds the agent's PC clock is ahead of the server's
  (negative: behind), as the agent measured it from the server's replies; the board shows
  a clock problem from it.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_status") as batch:
        batch.add_column(sa.Column("clock_offset_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_status") as batch:
        batch.drop_column("clock_offset_s")
