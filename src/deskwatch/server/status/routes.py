"""Heartbeats (devices) and the live board (people)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from deskwatch.server.audit.service import OVERSEERS, record
from deskwatch.server.deps import DeviceDep, NowDep, SessionDep, SettingsDep, UserDep
from deskwatch.server.orgs.models import User
from deskwatch.server.orgs.service import visible_agents
from deskwatch.server.policies.service import current
from deskwatch.server.status import service
from deskwatch.server.status.schemas import BoardRow, Heartbeat, HeartbeatReply

router = APIRouter(prefix="/api/v1", tags=["status"])


@router.post("/heartbeat")
def heartbeat(
    beat: Heartbeat,
    request: Request,
    device: DeviceDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> HeartbeatReply:
    changed = service.heartbeat(
        session, device=device, beat=beat, now=now, offline_after_s=settings.offline_after_s
    )
    if changed:
        request.app.state.changes.notify()
    agent = session.get(User, device.agent_id)
    return HeartbeatReply(
        policy_version=current(session, team_id=agent.team_id if agent else None).version
    )


@router.get("/board")
def board(user: UserDep, session: SessionDep, now: NowDep, settings: SettingsDep) -> list[BoardRow]:
    """Each visible agent's status and since when (offline after missed heartbeats)."""
    agents = visible_agents(session, user=user)
    if user.role in OVERSEERS:
        record(session, actor=user, action="read:board", subject=f"agents:{len(agents)}", now=now)
    return service.board(session, agents=agents, now=now, offline_after_s=settings.offline_after_s)
