"""Policy bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PolicyOut(BaseModel):
    version: int
    toml: str


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    toml: str = Field(max_length=64_000)
