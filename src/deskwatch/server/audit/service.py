"""Recording and reading the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import Role, User

# Reads by these roles of someone else's data are personal-data access worth recording.
OVERSEERS = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.PRIVACY_OFFICER})


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    subject: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor_id=actor.id if actor else None,
        action=action,
        subject=subject,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def record_read(session: Session, *, reader: User, agent: User, what: str, now: datetime) -> None:
    """Log a supervisor's, admin's or privacy officer's read of an agent's data."""
    if reader.role in OVERSEERS and reader.id != agent.id:
        record(session, actor=reader, action=f"read:{what}", subject=f"agent:{agent.id}", now=now)


def entries(session: Session, *, limit: int = 500) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(query))
