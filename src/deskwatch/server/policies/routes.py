"""Policy fetch (devices) and the policy editor (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from deskwatch.server.bounds import Id
from deskwatch.server.deps import (
    AdminDep,
    DeviceDep,
    NowDep,
    PolicyReaderDep,
    SessionDep,
    SettingsDep,
)
from deskwatch.server.errors import NotFoundError
from deskwatch.server.orgs.models import Role, Team, User
from deskwatch.server.orgs.service import team_for
from deskwatch.server.policies import service
from deskwatch.server.policies.schemas import DevicePolicyOut, PolicyIn, PolicyOut
from deskwatch.server.privacy.service import device_privacy
from deskwatch.server.snapshots.keys import public_key_b64

router = APIRouter(prefix="/api/v1", tags=["policies"])


@router.get("/policy")
def device_policy(device: DeviceDep, session: SessionDep, settings: SettingsDep) -> DevicePolicyOut:
    agent = session.get(User, device.agent_id)
    if agent is None:
        raise NotFoundError("the device's agent no longer exists")
    policy = service.current(session, team_id=agent.team_id)
    privacy = device_privacy(session, agent=agent)
    if any(c.snapshot for c in privacy.categories):  # the key agents seal stills to
        privacy.snapshot_key = public_key_b64(settings)
    return DevicePolicyOut(version=policy.version, toml=policy.toml, privacy=privacy)


@router.get("/teams/{team_id}/policy")
def team_policy(team_id: Id, user: PolicyReaderDep, session: SessionDep) -> PolicyOut:
    if user.role == Role.PRIVACY_OFFICER:
        if session.get(Team, team_id) is None:
            raise NotFoundError(f"no team {team_id}")
    else:
        team_for(session, user=user, team_id=team_id)
    return service.current(session, team_id=team_id)


@router.put("/teams/{team_id}/policy")
def publish_policy(
    team_id: Id, body: PolicyIn, admin: AdminDep, session: SessionDep, now: NowDep
) -> PolicyOut:
    team_for(session, user=admin, team_id=team_id)
    return service.publish(session, team_id=team_id, toml=body.toml, actor=admin, now=now)
