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
