"""Device API bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.server.bounds import Id


class EnrolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=64)
    hostname: str = Field(min_length=1, max_length=200)


class EnrolResponse(BaseModel):
    device_id: str
    token: str
    agent_id: int
    team_id: int | None


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: Id


class CodeResponse(BaseModel):
    code: str
    agent_id: int
    expires_at: datetime


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agent_id: int
    hostname: str
    enrolled_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
