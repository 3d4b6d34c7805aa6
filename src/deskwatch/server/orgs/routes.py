"""Teams and users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from deskwatch.server import flows
from deskwatch.server.deps import AdminDep, NowDep, SessionDep, UserDep
from deskwatch.server.orgs import service
from deskwatch.server.orgs.models import Role, Team, User

router = APIRouter(prefix="/api/v1", tags=["organisation"])


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    name: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    team_id: int | None
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    display_name: str | None = None
    role: Role
    team_id: int | None = None


@router.get("/teams")
def teams(user: UserDep, session: SessionDep) -> list[TeamOut]:
    ids = service.visible_team_ids(session, user=user)
    rows = session.scalars(select(Team).where(Team.id.in_(ids)).order_by(Team.name))
    return [TeamOut.model_validate(t) for t in rows]


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    site_id: int
    supervisor_ids: list[int] = Field(default_factory=list, max_length=50)


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


class UserPatch(BaseModel):
    """What an admin may change about a user; fields left out stay as they are
    (``team_id: null`` takes the user out of every team)."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    team_id: int | None = None
    active: bool | None = None


class UserChanged(BaseModel):
    user: UserOut
    changed: dict[str, list[Any]]


@router.patch("/admin/users/{user_id}")
def change_user(
    user_id: int,
    body: UserPatch,
    request: Request,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
) -> UserChanged:
    given = body.model_fields_set
    changed = flows.change_user(
        session,
        actor=admin,
        user_id=user_id,
        now=now,
        changes=request.app.state.changes,
        role=body.role if body.role is not None else service.KEEP,
        team_id=body.team_id if "team_id" in given else service.KEEP,
        active=body.active if body.active is not None else service.KEEP,
    )
    user = session.get(User, user_id)
    return UserChanged(user=UserOut.model_validate(user), changed=changed)
