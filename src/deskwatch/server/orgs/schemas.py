"""Team and user bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.server.bounds import Id
from deskwatch.server.orgs.models import Role


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
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role
    team_id: Id | None = None


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    site_id: Id
    supervisor_ids: list[Id] = Field(default_factory=list, max_length=50)


class UserPatch(BaseModel):
    """What an admin may change about a user; fields left out stay as they are
    (``team_id: null`` takes the user out of every team)."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    team_id: Id | None = None
    active: bool | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=200)


class UserChanged(BaseModel):
    user: UserOut
    changed: dict[str, list[Any]]


class PasswordReset(BaseModel):
    """An admin's new password for a user (every session of the user ends)."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=10, max_length=200)


class PasswordResetOut(BaseModel):
    sessions_ended: int


class TeamPatch(BaseModel):
    """A team's new name (unique within its site)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class TeamSupervisorsOut(BaseModel):
    """Who supervises a team now, and whether the request changed it."""

    team_id: int
    supervisor_ids: list[int]
    changed: bool
