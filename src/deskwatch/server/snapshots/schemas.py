"""Evidence-still bodies: what a device uploads and what people see (metadata only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

MAX_SEALED_BYTES = 512 * 1024
# Base64 of the largest accepted box (a bigger string is refused before it is decoded).
MAX_SEALED_B64 = 4 * (MAX_SEALED_BYTES // 3 + 1) + 1024


class SnapshotIn(BaseModel):
    """One sealed still for one event, as the agent sends it."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID
    taken_at: datetime
    sealed: str = Field(min_length=1, description="base64 of the sealed box (see sealing.py)")


class SnapshotStored(BaseModel):
    id: str
    expires_at: datetime
    duplicate: bool


class SnapshotOut(BaseModel):
    """A still's metadata; the picture itself is at ``url`` for those who may see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    event_id: str
    agent_id: int
    category: str
    taken_at: datetime
    received_at: datetime
    expires_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return f"/api/v1/snapshots/{self.id}.jpg"
