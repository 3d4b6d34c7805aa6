"""The admin page: devices and enrolment codes, users, teams and their supervisors, and
each team's policy editor (preview as a diff, publish, version history).

Every form posts, then redirects back saying how it went (post/redirect/get); only the
policy editor's preview, and a policy refused as invalid, render at once so that the text
typed is kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.server import flows
from deskwatch.server.audit.service import record
from deskwatch.server.bounds import Id
from deskwatch.server.deps import ChangesDep, NowDep, SessionDep, SettingsDep, TokensDep
from deskwatch.server.devices import service as devices
from deskwatch.server.errors import InvalidError, NotFoundError
from deskwatch.server.orgs import service as orgs
from deskwatch.server.orgs.models import Role, Site, Team, User
from deskwatch.server.policies import service as policies
from deskwatch.server.web.access import AdminPage
from deskwatch.server.web.pages import Csrf, back, flash, outcome, page

router = APIRouter(prefix="/admin", include_in_schema=False)
HOME = "/admin"
POLICY_MAX = 64_000  # as the API's PolicyIn

Name = Annotated[str, Form(min_length=1, max_length=200)]
Password = Annotated[str, Form(min_length=10, max_length=200)]
PolicyText = Annotated[str, Form(max_length=POLICY_MAX)]


def admin_page(request: Request, admin: User, session: Session, now: datetime) -> HTMLResponse:
    """Every user and device: a read of every worker's registration (audited per page)."""
    orgs.record_team_read(session, reader=admin, what="admin", now=now, everyone=True)
    users = list(session.scalars(select(User).order_by(User.id)))
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    return page(
        request,
        "admin.html",
        admin,
        session,
        users=users,
        agents=[u for u in users if u.role == Role.AGENT],
        names={u.id: u.display_name for u in users},
        devices=devices.list_devices(session),
        all_teams=teams,
        versions={t.id: policies.current(session, team_id=t.id).version for t in teams},
        roles=[r.value for r in Role],
        supervisors=[u for u in users if u.role == Role.SUPERVISOR],
    )


def attempt(request: Request, session: Session, action: Callable[[], str], failed: str) -> Response:
    """``outcome`` on the admin page, for an action that says itself how it went."""
    return outcome(request, session, HOME, action, lambda said: said, failed)


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
) -> Response:
    def act() -> str:
        code, row = devices.create_code(
            session, admin=admin, agent_id=agent_id, now=now, ttl_s=settings.enrolment_code_ttl_s
        )
        record(session, actor=admin, action="device:code", subject=f"agent:{agent_id}", now=now)
        return f"One-time code {code} (valid until {row.expires_at:%Y-%m-%d %H:%M} UTC)"

    return attempt(request, session, act, "No code made")


@router.post("/devices/{device_id}/revoke", dependencies=[Csrf])
def revoke(
    device_id: str,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    tokens: TokensDep,
    changes: ChangesDep,
) -> Response:
    def act() -> str:
        devices.revoke_everywhere(
            session, device_id=device_id, admin=admin, now=now, tokens=tokens, changes=changes
        )
        return "Device revoked."

    return attempt(request, session, act, "Device not revoked")


@router.post("/users", dependencies=[Csrf])
def add_user(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form(min_length=2, max_length=100)],
    password: Password,
    role: Annotated[Role, Form()],
    team_id: Annotated[Id | None, Form()] = None,
    display_name: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    def act() -> str:
        orgs.add_user(
            session,
            actor=admin,
            now=now,
            username=username,
            password=password,
            role=role,
            team_id=team_id,
            display_name=(display_name or "").strip() or None,
        )
        return f"User {username} added."

    return attempt(request, session, act, "User not added")


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
    display_name: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
) -> Response:
    def act() -> str:
        renamed = display_name is not None and orgs.set_display_name(
            session, actor=admin, now=now, user_id=user_id, name=display_name
        )
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
        what = (["display name"] if renamed else []) + [k.replace("_", " ") for k in changed]
        return f"User changed: {', '.join(what)}." if what else "Nothing to change."

    return attempt(request, session, act, "User not changed")


@router.post("/passwords", dependencies=[Csrf])
def reset_password(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    user_id: Annotated[Id, Form()],
    password: Password,
) -> Response:
    """An admin's new password for a user: every session of the user ends (audited)."""

    def act() -> str:
        ended = flows.reset_password(
            session, admin=admin, user_id=user_id, password=password, now=now
        )
        user = session.get(User, user_id)
        name = user.username if user else user_id
        return f"New password set for {name}; {ended} session(s) ended."

    return attempt(request, session, act, "Password not reset")


@router.post("/teams", dependencies=[Csrf])
def add_team(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    name: Name,
    supervisor_id: Annotated[Id | None, Form()] = None,
) -> Response:
    def act() -> str:
        site = session.scalar(select(Site).order_by(Site.id)) or orgs.create_site(
            session, name="Main"
        )
        ids = [] if supervisor_id is None else [supervisor_id]
        team = orgs.add_team(
            session, actor=admin, now=now, site_id=site.id, name=name, supervisor_ids=ids
        )
        return f"Team {team.name} added."

    return attempt(request, session, act, "Team not added")


@router.post("/teams/{team_id}/name", dependencies=[Csrf])
def rename_team(
    team_id: Id, request: Request, admin: AdminPage, session: SessionDep, now: NowDep, name: Name
) -> Response:
    def act() -> str:
        team, old = orgs.rename_team(session, actor=admin, now=now, team_id=team_id, name=name)
        return f"Team {old} renamed {team.name}." if team.name != old else "Nothing to change."

    return attempt(request, session, act, "Team not renamed")


@router.post("/teams/{team_id}/supervisors", dependencies=[Csrf])
def add_supervisor(
    team_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    supervisor_id: Annotated[Id, Form()],
) -> Response:
    return _supervision(request, admin, session, now, team_id, supervisor_id, on=True)


@router.post("/teams/{team_id}/supervisors/{user_id}/remove", dependencies=[Csrf])
def remove_supervisor(
    team_id: Id, user_id: Id, request: Request, admin: AdminPage, session: SessionDep, now: NowDep
) -> Response:
    return _supervision(request, admin, session, now, team_id, user_id, on=False)


def _supervision(
    request: Request,
    admin: User,
    session: Session,
    now: datetime,
    team_id: int,
    user_id: int,
    *,
    on: bool,
) -> Response:
    def act() -> str:
        changed = orgs.set_supervision(
            session, actor=admin, now=now, team_id=team_id, user_id=user_id, on=on
        )
        team, user = session.get(Team, team_id), session.get(User, user_id)
        who, where = (user.display_name if user else ""), (team.name if team else "")
        if not changed:
            return "Nothing to change."
        return f"{who} supervises {where}." if on else f"{who} no longer supervises {where}."

    return attempt(request, session, act, "Supervisors not changed")


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFoundError(f"no team {team_id}")
    return team


def policy_page(
    request: Request,
    admin: User,
    session: Session,
    team: Team,
    *,
    text: str | None = None,
    preview: bool = False,
    viewing: int | None = None,
) -> HTMLResponse:
    """A team's policy editor: the text (the current policy, else the defaults written out),
    a diff against it when previewing, and every published version."""
    baseline = policies.editor_text(policies.current(session, team_id=team.id))
    proposed = baseline if text is None else text
    problem = policies.check(proposed) if preview else None
    if problem:
        flash(request, f"Policy not valid: {problem}", error=True)
    history = policies.history(session, team_id=team.id)
    shown = next((v for v in history if v.version == viewing), None)
    if viewing is not None and shown is None:
        raise NotFoundError(f"no version {viewing} of this team's policy")
    authors = {
        u.id: u.display_name
        for u in session.scalars(
            select(User).where(
                User.id.in_({v.created_by for v in history if v.created_by is not None})
            )
        )
    }
    return page(
        request,
        "admin_policy.html",
        admin,
        session,
        team=team,
        text=proposed,
        version=policies.current(session, team_id=team.id).version,
        diff=policies.diff(baseline, proposed) if preview and not problem else None,
        preview=preview and not problem,
        history=history,
        authors=authors,
        shown=shown,
        defaults=policies.default_toml(),
        policy_max=POLICY_MAX,
    )


@router.get("/teams/{team_id}/policy")
def policy_editor(
    team_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    version: Id | None = None,
) -> HTMLResponse:
    return policy_page(request, admin, session, _team(session, team_id), viewing=version)


@router.post("/teams/{team_id}/policy/preview", dependencies=[Csrf])
def preview_policy(
    team_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    toml: PolicyText = "",
) -> HTMLResponse:
    """What publishing would change, as a diff (or why the text is not a valid policy)."""
    team = _team(session, team_id)
    return policy_page(request, admin, session, team, text=toml, preview=True)


@router.post("/teams/{team_id}/policy", dependencies=[Csrf])
def publish_policy(
    team_id: Id,
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    toml: PolicyText = "",
) -> Response:
    team = _team(session, team_id)
    try:
        out = policies.publish(session, team_id=team_id, toml=toml, actor=admin, now=now)
    except InvalidError as exc:
        session.rollback()
        flash(request, f"Policy not published: {exc}", error=True)
        return policy_page(request, admin, session, team, text=toml)
    path = f"/admin/teams/{team_id}/policy"
    return back(request, path, f"Policy version {out.version} published for {team.name}.")
