"""keyed audit chain: HMAC-SHA256 under a key outside the database; indexes for My data

Existing entries are re-chained with the server's audit key (``upgrade(engine, audit=...)``
hands it over; a log with entries cannot be migrated without it). The old SHA-256 chain is
checked first and the result kept in a final ``audit:rekeyed`` entry, so re-keying never
hides an earlier edit. The newest entry then becomes the head record.

Revision ID: 0004
Revises: 0003
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from deskwatch.server.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

GENESIS = "0" * 64
PRUNED = "audit:pruned"
LOG = sa.table(
    "audit_log",
    sa.column("id"),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id"),
    sa.column("action"),
    sa.column("subject"),
    sa.column("detail", sa.JSON),
    sa.column("prev_hash"),
    sa.column("hash"),
)


def _canonical(prev: str, at: Any, actor: Any, action: str, subject: str, detail: Any) -> bytes:
    """The chain's content as of this revision (frozen here on purpose)."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at  # SQLite: text
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    content = {
        "prev": prev,
        "at": when.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail if isinstance(detail, dict) else json.loads(detail or "{}"),
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def _rows(conn: sa.Connection) -> Iterator[Any]:
    """Every entry by id, a thousand at a time."""
    after = -1
    while True:
        batch = conn.execute(
            sa.select(LOG).where(LOG.c.id > after).order_by(LOG.c.id).limit(1000)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].id


def _start(conn: sa.Connection) -> str:
    """The hash the oldest remaining entry links to (the latest purge's anchor, if any)."""
    query = sa.select(LOG.c.detail).where(LOG.c.action == PRUNED).order_by(LOG.c.id.desc())
    detail = conn.execute(query.limit(1)).scalar()
    if detail is None:
        return GENESIS
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    return str(detail["last_hash"])


def _rechain(conn: sa.Connection, mac: Callable[[bytes], str]) -> tuple[int, str, str]:
    """Re-hash every entry with ``mac``; (entries, newest hash, the old chain's state)."""
    old_prev = new_prev = _start(conn)
    count, state = 0, "intact"
    for row in _rows(conn):
        fields = (row.at, row.actor_id, row.action, row.subject, row.detail)
        intact = (
            row.prev_hash == old_prev
            and row.hash == hashlib.sha256(_canonical(row.prev_hash, *fields)).hexdigest()
        )
        if not intact and state == "intact":
            state = f"broken at entry {row.id}"
        old_prev = row.hash
        digest = mac(_canonical(new_prev, *fields))
        update = LOG.update().where(LOG.c.id == row.id)
        conn.execute(update.values(prev_hash=new_prev, hash=digest))
        new_prev, count = digest, count + 1
    return count, new_prev, state


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.create_index("ix_audit_log_actor_id", ["actor_id"], unique=False)
        batch_op.create_index("ix_audit_log_subject", ["subject"], unique=False)
    conn = op.get_bind()
    if conn.execute(sa.select(sa.func.count()).select_from(LOG)).scalar() == 0:
        return
    chain = context.config.attributes.get("audit_chain")
    if chain is None:
        raise RuntimeError(
            "migration 0004 re-chains the audit log with the server's audit key: upgrade "
            "with upgrade(engine, audit=AuditChain.from_settings(settings)), as the server does"
        )
    count, prev, state = _rechain(conn, chain.mac)
    at = datetime.now(UTC)
    detail = {"entries": count, "sha256_chain": state}
    digest = chain.mac(_canonical(prev, at, None, "audit:rekeyed", "audit", detail))
    row = {"at": at, "actor_id": None, "action": "audit:rekeyed", "subject": "audit"}
    inserted = conn.execute(
        LOG.insert().values(**row, detail=detail, prev_hash=prev, hash=digest).returning(LOG.c.id)
    ).scalar_one()
    context.config.attributes["audit_head"] = (int(inserted), digest)


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_index("ix_audit_log_subject")
        batch_op.drop_index("ix_audit_log_actor_id")
