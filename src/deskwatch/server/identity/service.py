"""Check a password against the device's agent; each attempt is kept in ``identity_checks``
(the worker's data: exported, erased, purged with the identity category), not the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskwatch.server.db import serialise
from deskwatch.server.devices.models import Device
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.orgs.models import User
from deskwatch.server.security import verify_password

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


class LockedError(Exception):
    """Too many wrong passwords from this device lately."""


def failures(session: Session, *, device: Device, now: datetime) -> int:
    """Wrong passwords from ``device`` in the last ``WINDOW`` (any server worker)."""
    query = select(func.count(IdentityCheck.id)).where(
        IdentityCheck.device_id == device.id,
        IdentityCheck.ok.is_(False),
        IdentityCheck.at > now - WINDOW,
    )
    return int(session.scalar(query) or 0)


def reconfirm(
    session: Session, *, device: Device, password: str, now: datetime
) -> tuple[bool, int]:
    """(ok, tries left). Raises ``LockedError`` after ``MAX_FAILURES`` in the sliding window;
    the count, the check and its record happen under one per-device lock."""
    serialise(session, f"deskwatch_reconfirm:{device.id}")  # guesses counted one by one
    failed = failures(session, device=device, now=now)
    if failed >= MAX_FAILURES:
        raise LockedError("too many wrong passwords: try again later")
    agent = session.get(User, device.agent_id)
    ok = agent is not None and agent.active and verify_password(agent.password_hash, password)
    session.add(IdentityCheck(agent_id=device.agent_id, device_id=device.id, at=now, ok=ok))
    return ok, MAX_FAILURES - failed - (0 if ok else 1)
