"""SIEM and webhook integrations: sinks and their outbox

- ``integration_sinks``: webhooks and syslog receivers an admin set up (off by default).
- ``integration_outbox``: deliveries written with what they report, sent in order per
  sink and agent, kept as dead letters after too many failures.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from deskwatch.server.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_sinks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("url", sa.String(500)),
        sa.Column("secret", sa.Text),
        sa.Column("secret_fingerprint", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("port", sa.Integer),
        sa.Column("tls", sa.Boolean, nullable=False),
        sa.Column("ca_file", sa.String(500)),
        sa.Column("facility", sa.Integer, nullable=False),
        sa.Column("event_types", sa.JSON, nullable=False),
        sa.Column("audit_actions", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "integration_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "sink_id",
            sa.Integer,
            sa.ForeignKey("integration_sinks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stream", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", UTCDateTime(timezone=True)),
        sa.Column("last_error", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_integration_outbox_stream",
        "integration_outbox",
        ["sink_id", "stream", "status", "id"],
    )
    op.create_index(
        "ix_integration_outbox_due", "integration_outbox", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_integration_outbox_due", "integration_outbox")
    op.drop_index("ix_integration_outbox_stream", "integration_outbox")
    op.drop_table("integration_outbox")
    op.drop_table("integration_sinks")
