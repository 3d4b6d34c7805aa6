"""Enrolment codes, enrolment and revocation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.devices.models import Device, EnrolmentCode
from deskwatch.server.devices.tokens import DeviceIdentity, TokenCache
from deskwatch.server.errors import NotFoundError, RefusedError
from deskwatch.server.live import Changes
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.security import new_code, new_token, token_hash


def create_code(
    session: Session, *, admin: User, agent_id: int, now: datetime, ttl_s: float
) -> tuple[str, EnrolmentCode]:
    agent = session.get(User, agent_id)
    if agent is None or agent.role != Role.AGENT:
        raise NotFoundError(f"no agent {agent_id}")
    if not agent.active:
        raise RefusedError(f"{agent.username} is switched off: no device can be enrolled")
    code = new_code()
    row = EnrolmentCode(
        code_hash=token_hash(code),
        agent_id=agent_id,
        created_by=admin.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(row)
    return code, row


def enrol(session: Session, *, code: str, hostname: str, now: datetime) -> tuple[Device, str]:
    """Exchange a valid, unused, unexpired code for a new device and its token."""
    row = session.get(EnrolmentCode, token_hash(code.strip().upper()), with_for_update=True)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise RefusedError("enrolment code is unknown, used or expired")
    agent = session.get(User, row.agent_id)
    if agent is None or agent.role != Role.AGENT or not agent.active:
        raise RefusedError("enrolment code is unknown, used or expired")
    row.used_at = now
    token = new_token()
    device = Device(
        id=str(uuid.uuid4()),
        agent_id=row.agent_id,
        hostname=hostname,
        token_hash=token_hash(token),
        enrolled_at=now,
    )
    session.add(device)
    return device, token


def revoke(session: Session, *, device_id: str, now: datetime) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFoundError(f"no device {device_id}")
    device.revoked_at = device.revoked_at or now
    return device


def revoke_all(session: Session, *, agent_id: int, now: datetime) -> list[str]:
    """Revoke every device of an agent still in use, and end their unused enrolment codes;
    the devices' ids."""
    session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.agent_id == agent_id, EnrolmentCode.used_at.is_(None))
        .values(expires_at=now)
    )
    rows = session.scalars(
        select(Device).where(Device.agent_id == agent_id, Device.revoked_at.is_(None))
    )
    revoked = []
    for device in rows:
        device.revoked_at = now
        revoked.append(device.id)
    return revoked


def valid_tokens(session: Session) -> list[tuple[str, DeviceIdentity]]:
    """(token hash, device) of every device not revoked: one query, for the token cache."""
    rows = session.execute(
        select(Device.token_hash, Device.id, Device.agent_id).where(Device.revoked_at.is_(None))
    )
    return [(digest, DeviceIdentity(device_id, agent)) for digest, device_id, agent in rows]


def list_devices(session: Session) -> list[Device]:
    return list(session.scalars(select(Device).order_by(Device.enrolled_at)))


_SEEN = (
    update(Device)
    .where(
        Device.id == bindparam("b_id"),
        or_(Device.last_seen_at.is_(None), Device.last_seen_at < bindparam("b_at")),
    )
    .values(last_seen_at=bindparam("b_at"))
)


def mark_seen(session: Session, *, seen: Mapping[str, datetime]) -> None:
    """Move each device's ``last_seen_at`` forward (never back), in one batch."""
    if seen:
        rows = [{"b_id": device_id, "b_at": at} for device_id, at in sorted(seen.items())]
        session.connection().execute(_SEEN, rows)


def revoke_everywhere(
    session: Session,
    *,
    device_id: str,
    admin: User,
    now: datetime,
    tokens: TokenCache,
    changes: Changes,
) -> Device:
    """Revoke (audited); every worker process refuses the token once this commits."""
    device = revoke(session, device_id=device_id, now=now)
    tokens.forget(device_id)
    changes.publish(session, agent_id=device.agent_id)
    record(session, actor=admin, action="device:revoked", subject=f"device:{device_id}", now=now)
    return device
