"""Teams and users."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from deskwatch.server.audit.service import record
from deskwatch.server.deps import AdminDep, NowDep, SessionDep, UserDep
from deskwatch.server.errors import NotFoundError
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
    team = service.create_team_with_supervisors(
        session, site_id=body.site_id, name=body.name, supervisor_ids=body.supervisor_ids
    )
    record(
        session,
        actor=admin,
        action="team:created",
        subject=f"team:{team.id}",
        now=now,
        detail={"supervisors": body.supervisor_ids},
    )
    return TeamOut.model_validate(team)


@router.get("/admin/users")
def users(admin: AdminDep, session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in session.scalars(select(User).order_by(User.id))]


@router.post("/admin/users", status_code=201)
def create_user(body: UserIn, admin: AdminDep, session: SessionDep, now: NowDep) -> UserOut:
    team = session.get(Team, body.team_id) if body.team_id is not None else None
    if body.team_id is not None and team is None:
        raise NotFoundError(f"no team {body.team_id}")
    user = service.create_user(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        team=team,
    )
    record(
        session,
        actor=admin,
        action="user:created",
        subject=f"user:{user.id}",
        now=now,
        detail={"role": body.role.value},
    )
    return UserOut.model_validate(user)
