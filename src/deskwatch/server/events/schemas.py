"""Event ingest bodies: the edge pipeline's own event format."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from deskwatch.events.event import Event


class DeviceEvent(Event):
    """An event as a device sends it: the wall-clock start is required."""

    @model_validator(mode="after")
    def _needs_wall_clock(self) -> DeviceEvent:
        if self.started_at is None:
            raise ValueError("started_at is required for device ingest")
        if self.started_at.tzinfo is None:
            raise ValueError("started_at must carry a timezone")
        return self


class IngestBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[DeviceEvent] = Field(min_length=1, max_length=1000)


class IngestResult(BaseModel):
    """Counts of the batch's events; every one is acknowledged (the agent may forget it)."""

    new: int
    duplicates: int
    updated: int
    dropped: int = 0  # of a category off for the worker (team or objection): not stored


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agent_id: int
    type: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    peak_confidence: float
    evidence: dict[str, float]
    received_at: datetime
    review: str = "none"
    disputed: bool = False
    review_note: str = ""
