"""The preference centre (admins) and objections (workers)."""

from __future__ import annotations

from fastapi import APIRouter

from deskwatch.server.bounds import Id
from deskwatch.server.deps import (
    AdminDep,
    AgentDep,
    ChangesDep,
    NowDep,
    PolicyReaderDep,
    SessionDep,
    SettingsDep,
)
from deskwatch.server.orgs.service import team_for
from deskwatch.server.privacy import service
from deskwatch.server.privacy.schemas import (
    CategoryIn,
    CategoryView,
    MyCategory,
    ObjectionIn,
)

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/teams/{team_id}/categories")
def team_categories(team_id: Id, user: PolicyReaderDep, session: SessionDep) -> list[CategoryView]:
    team = service.readable_team(session, user=user, team_id=team_id)
    return service.team_categories(session, team_id=team.id)


@router.put("/teams/{team_id}/categories/{key}")
def set_category(
    team_id: Id,
    key: str,
    body: CategoryIn,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    changes: ChangesDep,
) -> CategoryView:
    team = team_for(session, user=admin, team_id=team_id)
    return service.set_category(
        session,
        team=team,
        key=key,
        change=body,
        actor=admin,
        now=now,
        max_retention_days=settings.audit_retention_days,
        changes=changes,
    )


@router.get("/me/categories")
def my_categories(agent: AgentDep, session: SessionDep) -> list[MyCategory]:
    return service.my_categories(session, agent=agent)


@router.put("/me/objections/{key}")
def set_objection(
    key: str,
    body: ObjectionIn,
    agent: AgentDep,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
) -> list[MyCategory]:
    mine = service.set_objection(session, agent=agent, key=key, objected=body.objected, now=now)
    service.announce(session, changes=changes, agent_ids=[agent.id])
    return mine
