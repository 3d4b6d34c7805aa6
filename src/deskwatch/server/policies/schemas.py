"""Policy bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.server.privacy.schemas import DevicePrivacy


class PolicyOut(BaseModel):
    version: int
    toml: str


class DevicePolicyOut(PolicyOut):
    """What a device fetches: the team's policy and the worker's privacy settings."""

    privacy: DevicePrivacy


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    toml: str = Field(max_length=64_000)
