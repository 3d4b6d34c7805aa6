"""Login and session bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    password: str


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    csrf_token: str


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class SsoClaims(BaseModel):
    """What deskwatch takes from a validated ID token (other claims are ignored)."""

    model_config = ConfigDict(extra="ignore")

    iss: str = Field(min_length=1, max_length=300)
    sub: str = Field(min_length=1, max_length=255)
    preferred_username: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    groups: list[str] = Field(default_factory=list, max_length=1000)
