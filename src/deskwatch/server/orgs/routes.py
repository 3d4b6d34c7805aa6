"""Teams and users."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.server import flows
from deskwatch.server.bounds import Id
from deskwatch.server.deps import AdminDep, ChangesDep, NowDep, SessionDep, UserDep
from deskwatch.server.orgs import service
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.orgs.schemas import (
    PasswordReset,
    PasswordResetOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    TeamSupervisorsOut,
    UserChanged,
    UserIn,
    UserOut,
    UserPatch,
)

router = APIRouter(prefix="/api/v1", tags=["organisation"])


@router.get("/teams")
def teams(user: UserDep, session: SessionDep) -> list[TeamOut]:
    ids = service.visible_team_ids(session, user=user)
    rows = session.scalars(select(Team).where(Team.id.in_(ids)).order_by(Team.name))
    return [TeamOut.model_validate(t) for t in rows]


@router.post("/admin/teams", status_code=201)
def create_team(body: TeamIn, admin: AdminDep, session: SessionDep, now: NowDep) -> TeamOut:
    team = service.add_team(
        session,
        actor=admin,
        now=now,
        site_id=body.site_id,
        name=body.name,
        supervisor_ids=body.supervisor_ids,
    )
    return TeamOut.model_validate(team)


@router.get("/admin/users")
def users(admin: AdminDep, session: SessionDep, now: NowDep) -> list[UserOut]:
    service.record_team_read(session, reader=admin, what="users", now=now, everyone=True)
    return [UserOut.model_validate(u) for u in session.scalars(select(User).order_by(User.id))]


@router.post("/admin/users", status_code=201)
def create_user(body: UserIn, admin: AdminDep, session: SessionDep, now: NowDep) -> UserOut:
    user = service.add_user(
        session,
        actor=admin,
        now=now,
        username=body.username,
        password=body.password,
        role=body.role,
        team_id=body.team_id,
        display_name=body.display_name,
    )
    return UserOut.model_validate(user)


@router.patch("/admin/users/{user_id}")
def change_user(
    user_id: Id,
    body: UserPatch,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
) -> UserChanged:
    given = body.model_fields_set
    before = session.get(User, user_id)
    old_name = before.display_name if before is not None else None
    renamed = body.display_name is not None and service.set_display_name(
        session, actor=admin, now=now, user_id=user_id, name=body.display_name
    )
    changed = flows.change_user(
        session,
        actor=admin,
        user_id=user_id,
        now=now,
        changes=changes,
        role=body.role if body.role is not None else service.KEEP,
        team_id=body.team_id if "team_id" in given else service.KEEP,
        active=body.active if body.active is not None else service.KEEP,
    )
    user = session.get(User, user_id)
    if renamed and user is not None:
        changed["display_name"] = [old_name, user.display_name]
    return UserChanged(user=UserOut.model_validate(user), changed=changed)


@router.post("/admin/users/{user_id}/password")
def reset_password(
    user_id: Id, body: PasswordReset, admin: AdminDep, session: SessionDep, now: NowDep
) -> PasswordResetOut:
    """A new password for a user; every one of their sessions ends (audited)."""
    ended = flows.reset_password(
        session, admin=admin, user_id=user_id, password=body.password, now=now
    )
    return PasswordResetOut(sessions_ended=ended)


@router.patch("/admin/teams/{team_id}")
def rename_team(
    team_id: Id, body: TeamPatch, admin: AdminDep, session: SessionDep, now: NowDep
) -> TeamOut:
    """A team's new name; 400 when another team of its site has it."""
    team, _ = service.rename_team(session, actor=admin, now=now, team_id=team_id, name=body.name)
    return TeamOut.model_validate(team)


@router.put("/admin/teams/{team_id}/supervisors/{user_id}")
def add_supervisor(
    team_id: Id, user_id: Id, admin: AdminDep, session: SessionDep, now: NowDep
) -> TeamSupervisorsOut:
    """The supervisor ``user_id`` supervises the team too (audited)."""
    return _supervision(session, admin, now, team_id, user_id, on=True)


@router.delete("/admin/teams/{team_id}/supervisors/{user_id}")
def remove_supervisor(
    team_id: Id, user_id: Id, admin: AdminDep, session: SessionDep, now: NowDep
) -> TeamSupervisorsOut:
    """The user no longer supervises the team (audited)."""
    return _supervision(session, admin, now, team_id, user_id, on=False)


def _supervision(
    session: Session, admin: User, now: datetime, team_id: int, user_id: int, *, on: bool
) -> TeamSupervisorsOut:
    changed = service.set_supervision(
        session, actor=admin, now=now, team_id=team_id, user_id=user_id, on=on
    )
    team = session.get(Team, team_id)
    ids = sorted(u.id for u in team.supervisors) if team is not None else []
    return TeamSupervisorsOut(team_id=team_id, supervisor_ids=ids, changed=changed)
