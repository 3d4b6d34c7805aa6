"""The preference centre (admins), objections and My data (workers), requests (officers)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from deskwatch.server.deps import (
    AdminDep,
    AgentDep,
    NowDep,
    PolicyReaderDep,
    PrivacyOfficerDep,
    SessionDep,
    SettingsDep,
)
from deskwatch.server.orgs.service import team_for
from deskwatch.server.privacy import service
from deskwatch.server.privacy.export import MyData, my_data
from deskwatch.server.privacy.schemas import (
    CategoryIn,
    CategoryView,
    MyCategory,
    ObjectionIn,
    RequestIn,
    RequestOut,
    RequestUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/teams/{team_id}/categories")
def team_categories(team_id: int, user: PolicyReaderDep, session: SessionDep) -> list[CategoryView]:
    team = service.readable_team(session, user=user, team_id=team_id)
    return service.team_categories(session, team_id=team.id)


@router.put("/teams/{team_id}/categories/{key}")
def set_category(
    team_id: int,
    key: str,
    body: CategoryIn,
    request: Request,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
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
        changes=request.app.state.changes,
    )


@router.get("/me/categories")
def my_categories(agent: AgentDep, session: SessionDep) -> list[MyCategory]:
    return service.my_categories(session, agent=agent)


@router.put("/me/objections/{key}")
def set_objection(
    key: str, body: ObjectionIn, request: Request, agent: AgentDep, session: SessionDep, now: NowDep
) -> list[MyCategory]:
    mine = service.set_objection(session, agent=agent, key=key, objected=body.objected, now=now)
    service.announce(session, changes=request.app.state.changes, agent_ids=[agent.id])
    return mine


@router.get("/me/export")
def export(agent: AgentDep, session: SessionDep, now: NowDep) -> MyData:
    """Everything stored about me (GDPR Art. 15)."""
    return my_data(session, agent=agent, now=now)


@router.post("/me/requests", status_code=201)
def create_request(
    body: RequestIn, agent: AgentDep, session: SessionDep, now: NowDep
) -> RequestOut:
    row = service.create_request(session, agent=agent, body=body, now=now)
    return RequestOut.model_validate(row)


@router.get("/me/requests")
def my_requests(agent: AgentDep, session: SessionDep) -> list[RequestOut]:
    return [RequestOut.model_validate(r) for r in service.requests_of(session, agent_id=agent.id)]


@router.get("/privacy/requests")
def request_queue(officer: PrivacyOfficerDep, session: SessionDep, now: NowDep) -> list[RequestOut]:
    rows = service.request_queue(session, officer=officer, now=now)
    return [RequestOut.model_validate(r) for r in rows]


@router.patch("/privacy/requests/{request_id}")
def update_request(
    request_id: int,
    body: RequestUpdate,
    officer: PrivacyOfficerDep,
    session: SessionDep,
    now: NowDep,
) -> RequestOut:
    row = service.update_request(
        session, request_id=request_id, change=body, officer=officer, now=now
    )
    return RequestOut.model_validate(row)
