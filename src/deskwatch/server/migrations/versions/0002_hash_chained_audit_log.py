"""hash-chained audit log

Revision ID: 0002
Revises: 0001
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

GENESIS = "0" * 64


def _hash(prev: str, row: sa.Row) -> str:  # type: ignore[type-arg]
    """The chain's hash as of this revision (frozen here on purpose)."""
    at = datetime.fromisoformat(row.at) if isinstance(row.at, str) else row.at  # SQLite: text
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    content = {
        "prev": prev,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row.actor_id,
        "action": row.action,
        "subject": row.subject,
        "detail": row.detail if isinstance(row.detail, dict) else json.loads(row.detail or "{}"),
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    log = sa.table(
        "audit_log",
        sa.column("id"),
        sa.column("at"),
        sa.column("actor_id"),
        sa.column("action"),
        sa.column("subject"),
        sa.column("detail", sa.JSON),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    conn = op.get_bind()
    prev = GENESIS
    for row in conn.execute(sa.select(log).order_by(log.c.id)).all():
        digest = _hash(prev, row)
        conn.execute(log.update().where(log.c.id == row.id).values(prev_hash=prev, hash=digest))
        prev = digest
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_log_hash", ["hash"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_constraint("uq_audit_log_hash", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
