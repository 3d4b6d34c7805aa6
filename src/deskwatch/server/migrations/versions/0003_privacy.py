"""privacy: categories, objections, requests, reviews, snapshots

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import deskwatch.server.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

REVIEWED_AT_0003 = (
    "phone_in_use",
    "extra_person",
    "camera_obstructed",
    "looking_away",
    "eating_drinking",
    "background_noise",
    "other_voice",
    "identity_mismatch",
)


def upgrade() -> None:
    op.create_table(
        "category_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=30), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("may_object", sa.Boolean(), nullable=False),
        sa.Column("snapshot", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "category"),
    )
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.Column("created_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["handled_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.create_index("ix_data_requests_agent", ["agent_id"], unique=False)

    op.create_table(
        "objections",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("created_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_id", "category"),
    )
    op.create_table(
        "event_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_comments_event_id"), ["event_id"], unique=False)

    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("taken_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_snapshots_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_snapshots_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_snapshots_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review", sa.String(length=10), nullable=False, server_default="none")
        )
        batch_op.add_column(
            sa.Column("disputed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reviewed_at", deskwatch.server.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_events_review"), ["review"], unique=False)
        batch_op.create_foreign_key("fk_events_reviewed_by", "users", ["reviewed_by"], ["id"])
    # Events stored before review existed: those that can lead to consequences wait for a
    # person too (GDPR Art. 22), as new ones do (the catalogue's reviewed types, as of now).
    events = sa.table("events", sa.column("type", sa.String), sa.column("review", sa.String))
    op.execute(events.update().where(events.c.type.in_(REVIEWED_AT_0003)).values(review="pending"))

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("privacy_rev", sa.Integer(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("privacy_rev", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("privacy_rev")

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("privacy_rev")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_events_reviewed_by", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_events_review"))
        batch_op.drop_column("review_note")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("disputed")
        batch_op.drop_column("review")

    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshots_expires_at"))
        batch_op.drop_index(batch_op.f("ix_snapshots_event_id"))
        batch_op.drop_index(batch_op.f("ix_snapshots_agent_id"))

    op.drop_table("snapshots")
    with op.batch_alter_table("event_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_comments_event_id"))

    op.drop_table("event_comments")
    op.drop_table("objections")
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_data_requests_agent")

    op.drop_table("data_requests")
    op.drop_table("category_settings")
