"""Pages for My data (workers), the review queue (supervisors), the privacy desk
(privacy officers) and the preference centre (admins edit, others read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from deskwatch.privacy.categories import LEGAL_BASES
from deskwatch.server import flows
from deskwatch.server.bounds import Id, Page
from deskwatch.server.deps import ChangesDep, NowDep, SessionDep, SettingsDep
from deskwatch.server.orgs.models import Role, Team, User
from deskwatch.server.privacy import service as privacy
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.requests import service as requests
from deskwatch.server.requests.export import my_data, my_page
from deskwatch.server.requests.schemas import RequestIn, RequestUpdate
from deskwatch.server.reviews import service as reviews
from deskwatch.server.reviews.schemas import CommentIn
from deskwatch.server.web.access import (
    AgentPage,
    CategoriesPage,
    CategoryForm,
    OfficerPage,
    PrivacyPage,
)
from deskwatch.server.web.pages import Csrf, outcome, page

router = APIRouter(include_in_schema=False)


# --- My data ---------------------------------------------------------------------------
@router.get("/me")
def my_data_page(
    request: Request, user: AgentPage, session: SessionDep, page_no: Page = 0
) -> HTMLResponse:
    """``?page_no=N``: the status history's page (0 the newest)."""
    data = my_page(session, agent=user, page=page_no)
    return page(request, "me.html", user, session, data=data)


@router.get("/me/export.html")
def my_export_page(request: Request, user: AgentPage, session: SessionDep, now: NowDep) -> Response:
    data = my_data(session, agent=user, now=now)
    reply = page(request, "export.html", user, session, data=data)
    reply.headers["content-disposition"] = 'attachment; filename="my-deskwatch-data.html"'
    return reply


@router.post("/me/objections/{key}", dependencies=[Csrf])
def object_form(
    key: str,
    request: Request,
    user: AgentPage,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
    objected: Annotated[bool, Form()],
) -> Response:
    word = "Objection recorded" if objected else "Objection withdrawn"

    def change() -> None:
        privacy.set_objection(session, agent=user, key=key, objected=objected, now=now)
        privacy.announce(session, changes=changes, agent_ids=[user.id])

    return outcome(
        request,
        session,
        "/me",
        change,
        f"{word}; your agent applies it at its next heartbeat.",
        "Not changed",
    )


@router.post("/me/events/{event_id}/comments", dependencies=[Csrf])
def comment_form(
    event_id: str,
    request: Request,
    user: AgentPage,
    session: SessionDep,
    now: NowDep,
    kind: Annotated[str, Form()],
    body: Annotated[str, Form(max_length=4000)],
) -> Response:
    return outcome(
        request,
        session,
        "/me",
        lambda: reviews.comment(
            session, user=user, event_id=event_id, body=CommentIn(kind=kind, body=body), now=now
        ),
        "Disputed: a person will review it." if kind == "dispute" else "Saved.",
        "Not saved",
    )


@router.post("/me/requests", dependencies=[Csrf])
def request_form(
    request: Request,
    user: AgentPage,
    session: SessionDep,
    now: NowDep,
    kind: Annotated[str, Form()],
    body: Annotated[str, Form(max_length=4000)],
) -> Response:
    return outcome(
        request,
        session,
        "/me",
        lambda: requests.create_request(
            session, agent=user, body=RequestIn(kind=kind, body=body), now=now
        ),
        "Request sent to the privacy officer.",
        "Not sent",
    )


# --- privacy desk ----------------------------------------------------------------------
@router.get("/privacy")
def privacy_page(request: Request, user: PrivacyPage, session: SessionDep, now: NowDep) -> Response:
    names = {u.id: u.display_name for u in session.scalars(select(User))}
    queue = []
    if user.role == Role.PRIVACY_OFFICER:
        queue = requests.request_queue(session, officer=user, now=now)
    return page(
        request,
        "privacy.html",
        user,
        session,
        requests=queue,
        names=names,
        accuracy=reviews.accuracy(session),
        detectors=reviews.detector_accuracy(session),
        all_teams=list(session.scalars(select(Team).order_by(Team.name))),
    )


@router.post("/privacy/requests/{request_id}", dependencies=[Csrf])
def request_update_form(
    request_id: Id,
    request: Request,
    user: OfficerPage,
    session: SessionDep,
    now: NowDep,
    new_status: Annotated[str, Form(alias="status")],
    response: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return outcome(
        request,
        session,
        "/privacy",
        lambda: flows.update_request(
            session,
            request_id=request_id,
            change=RequestUpdate(status=new_status, response=response),
            officer=user,
            now=now,
        ),
        f"Request {request_id}: {new_status}.",
        "Not changed",
    )


# --- preference centre -----------------------------------------------------------------
@router.get("/teams/{team_id}/categories")
def categories_page(
    team_id: Id, request: Request, user: CategoriesPage, session: SessionDep
) -> HTMLResponse:
    team = privacy.readable_team(session, user=user, team_id=team_id)
    cats = privacy.team_categories(session, team_id=team.id)
    return page(request, "categories.html", user, session, team=team, cats=cats, bases=LEGAL_BASES)


@router.post("/teams/{team_id}/categories/{key}", dependencies=[Csrf])
def category_form(
    team_id: Id,
    key: str,
    request: Request,
    user: CategoryForm,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
    settings: SettingsDep,
    purpose: Annotated[str, Form()],
    legal_basis: Annotated[str, Form()],
    retention_days: Annotated[int, Form(ge=1, le=3650)],
    enabled: Annotated[bool, Form()] = False,
    may_object: Annotated[bool, Form()] = False,
    snapshot: Annotated[bool, Form()] = False,
) -> Response:

    def save() -> None:
        team = privacy.readable_team(session, user=user, team_id=team_id)
        change = CategoryIn(
            enabled=enabled,
            purpose=purpose,
            legal_basis=legal_basis,
            retention_days=retention_days,
            may_object=may_object,
            snapshot=snapshot,
        )
        privacy.set_category(
            session,
            team=team,
            key=key,
            change=change,
            actor=user,
            now=now,
            max_retention_days=settings.audit_retention_days,
            changes=changes,
        )

    return outcome(
        request,
        session,
        f"/teams/{team_id}/categories",
        save,
        f"{key} saved; agents apply it at their next heartbeat.",
        "Not saved",
    )
