"""Recording, reading and verifying the audit log: append-only and hash-chained."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import Role, User

# Reads by these roles of someone else's data are personal-data access worth recording.
OVERSEERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.PRIVACY_OFFICER})


GENESIS = "0" * 64


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """SHA-256 of the previous hash and this entry's content, canonically serialised."""
    content = {
        "prev": prev_hash,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor_id,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    subject: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry chained to the last one (appends are serialised)."""
    _lock_chain(session)
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=now,
        actor_id=actor.id if actor else None,
        action=action,
        subject=subject,
        detail=detail or {},
        prev_hash=last or GENESIS,
    )
    entry.hash = entry_hash(entry.prev_hash, entry)
    session.add(entry)
    session.flush()  # the next append in this transaction chains to it
    return entry


def _lock_chain(session: Session) -> None:
    """PostgreSQL: one appender at a time (SQLite's BEGIN IMMEDIATE already serialises)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('deskwatch_audit'))"))


PRUNED = "audit:pruned"  # the retention purge's entry; its detail anchors the chain's start


@dataclass(frozen=True)
class Verification:
    entries: int
    broken_at: int | None = None
    reason: str = ""
    pruned_through: int | None = None  # entries up to this id were removed by retention

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _anchor(session: Session) -> tuple[str, int | None]:
    """Where the chain starts: GENESIS, or the last entry pruned by the latest purge."""
    query = select(AuditEntry.detail).where(AuditEntry.action == PRUNED)
    detail = session.scalar(query.order_by(AuditEntry.id.desc()).limit(1))
    if not detail:
        return GENESIS, None
    return str(detail["last_hash"]), int(detail["through_id"])


def verify(session: Session) -> Verification:
    """Walk the chain: an edited entry breaks its own hash, a deleted one its successor's link.

    After a retention purge the chain starts at the anchor its ``audit:pruned`` entry (itself
    chained) recorded, so only those oldest entries may be missing."""
    expected_prev, pruned_through = _anchor(session)
    count = 0
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    for entry in session.scalars(query):
        count += 1
        if entry.prev_hash != expected_prev:
            return Verification(count, entry.id, "the entry before it was deleted or changed")
        if entry_hash(entry.prev_hash, entry) != entry.hash:
            return Verification(count, entry.id, "its content was changed")
        expected_prev = entry.hash
    return Verification(count, pruned_through=pruned_through)


def prunable(session: Session, *, before: datetime) -> tuple[int, dict[str, Any]]:
    """The oldest entries, those before the first entry at or after ``before`` (the chain
    loses only a prefix): their count and the anchor (last id and hash) to delete up to."""
    first_kept = select(AuditEntry.id).where(AuditEntry.at >= before)
    boundary = session.scalar(first_kept.order_by(AuditEntry.id).limit(1))
    old = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    if boundary is not None:
        old = old.where(AuditEntry.id < boundary)
    last = session.scalar(old)
    if last is None:
        return 0, {}
    count = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.id <= last.id))
    return int(count or 0), {"through_id": last.id, "last_hash": last.hash}


def prune_through(session: Session, *, through_id: int) -> int:
    """Delete the entries up to ``through_id``; call after recording the ``audit:pruned``
    entry that names it, so ``verify`` accepts the new start."""
    stmt = delete(AuditEntry).where(AuditEntry.id <= through_id)
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))


def record_read(session: Session, *, reader: User, agent: User, what: str, now: datetime) -> None:
    """Log a supervisor's, admin's or privacy officer's read of an agent's data."""
    if reader.role in OVERSEERS and reader.id != agent.id:
        record(session, actor=reader, action=f"read:{what}", subject=f"agent:{agent.id}", now=now)


def entries(session: Session, *, limit: int = 500) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))
