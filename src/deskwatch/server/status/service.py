"""Heartbeats update each agent's status; the board reads it, with offline derived."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.server.devices.models import Device
from deskwatch.server.orgs.models import User
from deskwatch.server.status.models import AgentStatus, StatusChange
from deskwatch.server.status.schemas import BoardRow, BoardStatus, Heartbeat

DEVICE_SEEN_RESOLUTION = timedelta(minutes=1)


def heartbeat(
    session: Session, *, device: Device, beat: Heartbeat, now: datetime, offline_after_s: float
) -> bool:
    """Record a heartbeat; True when the status changed (or the agent came back online).

    A silence longer than ``offline_after_s`` is written into the history as an offline
    period, so past timelines show it.
    """
    if device.last_seen_at is None or now - device.last_seen_at > DEVICE_SEEN_RESOLUTION:
        device.last_seen_at = now  # per device, minute resolution is enough: fewer writes
    current = session.get(AgentStatus, device.agent_id, with_for_update=True)
    if current is None:
        current = AgentStatus(agent_id=device.agent_id, status=beat.status, since=now)
        session.add(current)
        changed = True
    else:
        went_offline = current.last_seen_at + timedelta(seconds=offline_after_s)
        was_offline = now > went_offline
        if was_offline:
            session.add(StatusChange(agent_id=device.agent_id, status="offline", at=went_offline))
        changed = was_offline or current.status != beat.status
        if changed:
            current.status, current.since = beat.status, now
    current.last_seen_at = now
    current.paused_for_s = beat.paused_for_s
    if changed:
        session.add(StatusChange(agent_id=device.agent_id, status=beat.status, at=now))
    return changed


def effective(row: AgentStatus | None, now: datetime, offline_after_s: float) -> BoardStatus:
    if row is None or now - row.last_seen_at > timedelta(seconds=offline_after_s):
        return "offline"
    status: BoardStatus = row.status  # type: ignore[assignment]
    return status


def board(
    session: Session, *, agents: list[User], now: datetime, offline_after_s: float
) -> list[BoardRow]:
    ids = [a.id for a in agents]
    rows = {
        s.agent_id: s
        for s in session.scalars(select(AgentStatus).where(AgentStatus.agent_id.in_(ids)))
    }
    out = []
    for agent in agents:
        row = rows.get(agent.id)
        status = effective(row, now, offline_after_s)
        since = None if row is None else row.since
        if status == "offline" and row is not None:
            since = row.last_seen_at + timedelta(seconds=offline_after_s)
        out.append(
            BoardRow(
                agent_id=agent.id,
                name=agent.display_name,
                team_id=agent.team_id,
                status=status,
                since=since,
                last_seen_at=None if row is None else row.last_seen_at,
            )
        )
    return out


def changes_between(
    session: Session, *, agent_id: int, start: datetime, end: datetime
) -> list[StatusChange]:
    """Status changes in [start, end), plus the one in force at ``start``."""
    before = session.scalar(
        select(StatusChange)
        .where(StatusChange.agent_id == agent_id, StatusChange.at < start)
        .order_by(StatusChange.at.desc())
        .limit(1)
    )
    during = session.scalars(
        select(StatusChange)
        .where(StatusChange.agent_id == agent_id, StatusChange.at >= start, StatusChange.at < end)
        .order_by(StatusChange.at)
    )
    return ([before] if before else []) + list(during)
