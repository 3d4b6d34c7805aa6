"""My data and requests (workers), the request queue (privacy officers)."""

from __future__ import annotations

from fastapi import APIRouter

from deskwatch.server import flows
from deskwatch.server.bounds import Id
from deskwatch.server.deps import AgentDep, NowDep, PrivacyOfficerDep, SessionDep
from deskwatch.server.requests import service
from deskwatch.server.requests.export import my_data
from deskwatch.server.requests.schemas import MyData, RequestIn, RequestOut, RequestUpdate

router = APIRouter(prefix="/api/v1", tags=["requests"])


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
    request_id: Id,
    body: RequestUpdate,
    officer: PrivacyOfficerDep,
    session: SessionDep,
    now: NowDep,
) -> RequestOut:
    row = flows.update_request(
        session, request_id=request_id, change=body, officer=officer, now=now
    )
    return RequestOut.model_validate(row)
