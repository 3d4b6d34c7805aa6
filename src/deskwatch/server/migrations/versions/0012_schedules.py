"""work schedules and WFM tokens

- ``scheduled_activities``: each agent's scheduled activities (shifts, breaks) imported
  from a WFM tool, ``[start, end)`` in UTC, with whether the agent is expected at the desk.
- ``wfm_tokens``: bearer tokens (SHA-256 only) a WFM system reads adherence with.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import deskwatch.server.db

revision: str = "0012"
# rebased onto 0011 at merge
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

UTC_TIME = deskwatch.server.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduled_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("start", UTC_TIME, nullable=False),
        sa.Column("end", UTC_TIME, nullable=False),
        sa.Column("activity", sa.String(length=60), nullable=False),
        sa.Column("at_desk_expected", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("imported_at", UTC_TIME, nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_scheduled_activities_agent_start", "scheduled_activities", ["agent_id", "start"]
    )
    op.create_table(
        "wfm_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("last_used_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("wfm_tokens")
    op.drop_index("ix_scheduled_activities_agent_start", table_name="scheduled_activities")
    op.drop_table("scheduled_activities")
