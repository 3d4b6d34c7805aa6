"""privacy fixes: identity re-confirmations in their own table, one still per event, no
consent without an opt-in

- ``identity_checks``: password re-confirmations, the worker's data (exported, erased,
  purged with the identity category) instead of audit entries kept for years.
- ``snapshots.event_id`` becomes unique (of duplicates made by concurrent uploads, the
  first received is kept).
- A category other than identity on "consent" ran for every worker without asking them:
  it is switched off (the admin chooses another basis to switch it on again) and the
  team's agents are told at their next heartbeat.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import deskwatch.server.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_checks") as batch_op:
        batch_op.create_index("ix_identity_checks_agent_id", ["agent_id"], unique=False)
        batch_op.create_index("ix_identity_checks_device_at", ["device_id", "at"], unique=False)

    op.execute(
        "DELETE FROM snapshots WHERE id NOT IN "
        "(SELECT first_id FROM (SELECT MIN(s.id) AS first_id FROM snapshots s "
        "WHERE s.received_at = (SELECT MIN(t.received_at) FROM snapshots t "
        "WHERE t.event_id = s.event_id) GROUP BY s.event_id) AS firsts)"
    )
    with op.batch_alter_table("snapshots") as batch_op:
        batch_op.drop_index("ix_snapshots_event_id")
        batch_op.create_index("ix_snapshots_event_id", ["event_id"], unique=True)

    consent = "legal_basis = 'consent' AND category <> 'identity' AND enabled"
    op.execute(
        "UPDATE teams SET privacy_rev = privacy_rev + 1 WHERE id IN "
        f"(SELECT team_id FROM category_settings WHERE {consent})"
    )
    op.execute(f"UPDATE category_settings SET enabled = {_false()} WHERE {consent}")


def _false() -> str:
    return "false" if op.get_bind().dialect.name == "postgresql" else "0"


def downgrade() -> None:
    with op.batch_alter_table("snapshots") as batch_op:
        batch_op.drop_index("ix_snapshots_event_id")
        batch_op.create_index("ix_snapshots_event_id", ["event_id"], unique=False)
    with op.batch_alter_table("identity_checks") as batch_op:
        batch_op.drop_index("ix_identity_checks_device_at")
        batch_op.drop_index("ix_identity_checks_agent_id")
    op.drop_table("identity_checks")
