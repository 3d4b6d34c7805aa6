"""Heartbeats update each agent's status; the board reads it, with offline derived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Select, and_, bindparam, select, update
from sqlalchemy.orm import Session

from deskwatch.server.orgs.models import Team, User
from deskwatch.server.orgs.service import record_team_read, visible_agent_ids
from deskwatch.server.schedules.models import ScheduledActivity
from deskwatch.server.status.models import AgentStatus, StatusChange
from deskwatch.server.status.schemas import (
    ABSENT,
    BoardRow,
    BoardStatus,
    Heartbeat,
    clock_note,
)


@dataclass(frozen=True, slots=True)
class Seen:
    """A heartbeat held in memory: what it said and when it came."""

    beat: Heartbeat
    at: datetime


def heartbeat(
    session: Session, *, agent_id: int, beat: Heartbeat, now: datetime, offline_after_s: float
) -> bool:
    """Record a heartbeat; True when the status changed (or the agent came back online).

    A silence longer than ``offline_after_s`` is written into the history as an offline
    period, so past timelines show it. A heartbeat older than the latest one stored (two
    in flight at once) changes nothing.
    """
    if _unchanged(session, agent_id=agent_id, beat=beat, now=now, offline_after_s=offline_after_s):
        return False
    current = session.get(AgentStatus, agent_id, with_for_update=True)
    if current is not None and current.last_seen_at > now:
        return False
    if current is None:
        current = AgentStatus(agent_id=agent_id, status=beat.status, since=now)
        session.add(current)
        changed = True
    else:
        went_offline = current.last_seen_at + timedelta(seconds=offline_after_s)
        was_offline = now > went_offline
        if was_offline:
            session.add(StatusChange(agent_id=agent_id, status="offline", at=went_offline))
        changed = was_offline or current.status != beat.status
        if changed:
            current.status, current.since = beat.status, now
    current.last_seen_at = now
    current.paused_for_s, current.clock_offset_s = beat.paused_for_s, beat.clock_offset_s
    if changed:
        session.add(StatusChange(agent_id=agent_id, status=beat.status, at=now))
    return changed


def record_seen(session: Session, *, seen: Mapping[int, Seen], offline_after_s: float) -> list[int]:
    """Store buffered heartbeats in one batch; the agents they cannot simply confirm.

    A heartbeat that repeats the stored status of an agent still online moves only
    ``last_seen_at``, and never backwards; one older than what is stored is dropped. The
    ids returned (another worker stored a different status, or the agent went offline)
    need the full path, ``heartbeat``, with ``seen[agent_id].at`` as its time.
    """
    stored = _stored(session, sorted(seen))
    confirmed, others = [], []
    for agent_id, item in sorted(seen.items()):
        status, last_seen = stored.get(agent_id, (None, None))
        if last_seen is not None and last_seen >= item.at:
            continue
        online = last_seen is not None and item.at - last_seen <= timedelta(seconds=offline_after_s)
        if online and status == item.beat.status:
            confirmed.append(
                {
                    "b_id": agent_id,
                    "b_status": status,
                    "b_at": item.at,
                    "b_paused": item.beat.paused_for_s,
                    "b_clock": item.beat.clock_offset_s,
                }
            )
        else:
            others.append(agent_id)
    if confirmed:  # ascending agent ids: concurrent flushes lock rows in the same order
        session.connection().execute(_SEEN, confirmed)
    return others


_SEEN = (
    update(AgentStatus)
    .where(
        AgentStatus.agent_id == bindparam("b_id"),
        AgentStatus.status == bindparam("b_status"),
        AgentStatus.last_seen_at < bindparam("b_at"),
    )
    .values(
        last_seen_at=bindparam("b_at"),
        paused_for_s=bindparam("b_paused"),
        clock_offset_s=bindparam("b_clock"),
    )
)


def _stored(session: Session, agent_ids: list[int]) -> dict[int, tuple[str, datetime]]:
    out: dict[int, tuple[str, datetime]] = {}
    for start in range(0, len(agent_ids), 1000):
        chunk = agent_ids[start : start + 1000]
        rows = session.execute(
            select(AgentStatus.agent_id, AgentStatus.status, AgentStatus.last_seen_at).where(
                AgentStatus.agent_id.in_(chunk)
            )
        )
        out.update({agent_id: (status, last_seen) for agent_id, status, last_seen in rows})
    return out


def _unchanged(
    session: Session, *, agent_id: int, beat: Heartbeat, now: datetime, offline_after_s: float
) -> bool:
    """The common heartbeat: same status, still online. One UPDATE; False means full path."""
    online_since, clock = now - timedelta(seconds=offline_after_s), beat.clock_offset_s
    result = session.execute(
        update(AgentStatus)
        .where(
            AgentStatus.agent_id == agent_id,
            AgentStatus.status == beat.status,
            AgentStatus.last_seen_at >= online_since,
        )
        .values(last_seen_at=now, paused_for_s=beat.paused_for_s, clock_offset_s=clock)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def board(
    session: Session,
    *,
    agents: Select[int],
    now: datetime,
    offline_after_s: float,
    long_absence_s: float | None = None,
) -> list[BoardRow]:
    """One row per agent that ``agents`` selects and who may still sign in, by name, with
    their team: one joined query, rows built once (10,000 agents well inside the board's
    time budget), and the activity each is scheduled for now (an import keeps an agent's
    activities from overlapping: one at most). ``long_absence`` marks an agent away or
    offline for longer than ``long_absence_s`` (never, when None)."""
    query = (
        select(
            User.id,
            User.display_name,
            User.team_id,
            Team.name,
            AgentStatus.status,
            AgentStatus.since,
            AgentStatus.last_seen_at,
            AgentStatus.clock_offset_s,
            ScheduledActivity.activity,
            ScheduledActivity.at_desk_expected,
        )
        .outerjoin(AgentStatus, AgentStatus.agent_id == User.id)
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(ScheduledActivity, _now_for(now))
        .where(User.id.in_(agents.scalar_subquery()), User.active.is_(True))
        .order_by(User.display_name)
    )
    silence = timedelta(seconds=offline_after_s)
    long_since = None if long_absence_s is None else now - timedelta(seconds=long_absence_s)
    rows: list[BoardRow] = []
    fetched = session.connection().execute(query).all()  # one fetchall, not a fetch per row
    for agent_id, name, team_id, team, stored, since, last_seen, clock, plan, expected in fetched:
        # Stored statuses come from validated heartbeats: a DeviceStatus each.
        status: BoardStatus = "offline" if last_seen is None else cast(BoardStatus, stored)
        if last_seen is not None and now - last_seen > silence:
            status, since = "offline", last_seen + silence
        rows.append(
            {
                "agent_id": agent_id,
                "name": name,
                "team_id": team_id,
                "team_name": team,
                "status": status,
                "since": since,
                "last_seen_at": last_seen,
                "clock": clock_note(clock),
                "long_absence": _long(status, since, long_since),
                "scheduled_activity": plan,
                "expected_at_desk": expected,
            }
        )
    return rows


def _now_for(now: datetime) -> ColumnElement[bool]:
    """The join condition: the agent's activity scheduled at ``now``."""
    return and_(
        ScheduledActivity.agent_id == User.id,
        ScheduledActivity.start <= now,
        ScheduledActivity.end > now,
    )


def _long(status: BoardStatus, since: datetime | None, long_since: datetime | None) -> bool:
    """Away or offline since before ``long_since``."""
    if since is None or long_since is None:
        return False
    return status in ABSENT and since < long_since


def board_for(
    session: Session,
    *,
    user: User,
    now: datetime,
    offline_after_s: float,
    long_absence_s: float | None = None,
) -> list[BoardRow]:
    """The board of the agents ``user`` may see; the read is audited (once per
    ``BOARD_READ_EVERY`` per team)."""
    agents = visible_agent_ids(session, user=user)
    rows = board(
        session,
        agents=agents,
        now=now,
        offline_after_s=offline_after_s,
        long_absence_s=long_absence_s,
    )
    record_team_read(session, reader=user, what="board", now=now)
    return rows


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


def known_statuses(session: Session) -> list[tuple[int, str, datetime]]:
    """(agent, status, last seen) of every agent with a stored status."""
    query = select(AgentStatus.agent_id, AgentStatus.status, AgentStatus.last_seen_at)
    return [(agent, status, seen) for agent, status, seen in session.execute(query)]
