"""The admin page: devices and enrolment codes, users, team policies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.server import flows
from deskwatch.server.audit.service import record
from deskwatch.server.bounds import Id
from deskwatch.server.deps import ChangesDep, NowDep, SessionDep, SettingsDep, TokensDep
from deskwatch.server.devices import service as devices
from deskwatch.server.errors import InvalidError, RefusedError
from deskwatch.server.orgs import service as orgs
from deskwatch.server.orgs.models import Role, Site, Team, User
from deskwatch.server.policies import service as policies
from deskwatch.server.web.access import AdminPage
from deskwatch.server.web.pages import Csrf, page

router = APIRouter(prefix="/admin", include_in_schema=False)


def admin_page(
    request: Request,
    admin: User,
    session: Session,
    now: datetime,
    message: str = "",
    error: bool = False,
) -> HTMLResponse:
    """Every user and device: a read of every worker's registration (audited per page)."""
    orgs.record_team_read(session, reader=admin, what="admin", now=now, everyone=True)
    users = list(session.scalars(select(User).order_by(User.id)))
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    return page(
        request,
        "admin.html",
        admin,
        session,
        message=message,
        error=error,
        users=users,
        agents=[u for u in users if u.role == Role.AGENT],
        names={u.id: u.display_name for u in users},
        devices=devices.list_devices(session),
        all_teams=teams,
        team_names={t.id: t.name for t in teams},
        policies={t.id: policies.current(session, team_id=t.id) for t in teams},
        roles=[r.value for r in Role],
        supervisors=[u for u in users if u.role == Role.SUPERVISOR],
    )


@router.get("")
def admin_home(
    request: Request, admin: AdminPage, session: SessionDep, now: NowDep
) -> HTMLResponse:
    return admin_page(request, admin, session, now)


@router.post("/codes", dependencies=[Csrf])
def create_code(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    agent_id: Annotated[Id, Form()],
) -> HTMLResponse:
    code, row = devices.create_code(
        session, admin=admin, agent_id=agent_id, now=now, ttl_s=settings.enrolment_code_ttl_s
    )
    record(session, actor=admin, action="device:code", subject=f"agent:{agent_id}", now=now)
    message = f"One-time code {code} (valid until {row.expires_at:%Y-%m-%d %H:%M} UTC)"
    return admin_page(request, admin, session, now, message)


@router.post("/devices/{device_id}/revoke", dependencies=[Csrf])
def revoke(
    device_id: str,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    tokens: TokensDep,
    changes: ChangesDep,
) -> HTMLResponse:
    devices.revoke_everywhere(
        session, device_id=device_id, admin=admin, now=now, tokens=tokens, changes=changes
    )
    return admin_page(request, admin, session, now, "Device revoked.")


@router.post("/users", dependencies=[Csrf])
def add_user(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form(min_length=2, max_length=100)],
    password: Annotated[str, Form(min_length=10, max_length=200)],
    role: Annotated[Role, Form()],
    team_id: Annotated[Id | None, Form()] = None,
) -> HTMLResponse:
    try:
        orgs.add_user(
            session,
            actor=admin,
            now=now,
            username=username,
            password=password,
            role=role,
            team_id=team_id,
        )
    except RefusedError as exc:
        return admin_page(request, admin, session, now, f"User not added: {exc}.", error=True)
    return admin_page(request, admin, session, now, f"User {username} added.")


@router.post("/users/{user_id}", dependencies=[Csrf])
def change_user(
    user_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
    role: Annotated[Role, Form()],
    team_id: Annotated[Id | None, Form()] = None,
    active: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    try:
        changed = flows.change_user(
            session,
            actor=admin,
            user_id=user_id,
            now=now,
            changes=changes,
            role=role,
            team_id=team_id,
            active=active,
        )
    except RefusedError as exc:
        return admin_page(request, admin, session, now, f"User not changed: {exc}.", error=True)
    if not changed:
        return admin_page(request, admin, session, now, "Nothing to change.")
    what = ", ".join(k.replace("_", " ") for k in changed)
    return admin_page(request, admin, session, now, f"User changed: {what}.")


@router.post("/teams", dependencies=[Csrf])
def add_team(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    supervisor_id: Annotated[Id | None, Form()] = None,
) -> HTMLResponse:
    site = session.scalar(select(Site).order_by(Site.id)) or orgs.create_site(session, name="Main")
    ids = [] if supervisor_id is None else [supervisor_id]
    orgs.add_team(session, actor=admin, now=now, site_id=site.id, name=name, supervisor_ids=ids)
    return admin_page(request, admin, session, now, f"Team {name} added.")


@router.post("/teams/{team_id}/policy", dependencies=[Csrf])
def publish_policy(
    team_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    toml: Annotated[str, Form(max_length=64_000)] = "",
) -> HTMLResponse:
    if session.get(Team, team_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such team")
    try:
        out = policies.publish(session, team_id=team_id, toml=toml, actor=admin, now=now)
    except InvalidError as exc:
        return admin_page(request, admin, session, now, f"Policy not published: {exc}", error=True)
    return admin_page(request, admin, session, now, f"Policy version {out.version} published.")
