"""Request and reply of the device's password re-confirmation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReconfirmRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=200)


class ReconfirmResponse(BaseModel):
    """``ok`` only; a refused password says how many tries are left before the lock."""

    ok: bool
    tries_left: int
