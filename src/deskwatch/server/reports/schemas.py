"""Timeline and report bodies."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from deskwatch.server.events.schemas import EventOut


class Segment(BaseModel):
    status: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


class Timeline(BaseModel):
    agent_id: int
    name: str
    day: date
    segments: list[Segment]
    events: list[EventOut]


class AgentReport(BaseModel):
    """One agent's day. Only events never reviewed or confirmed by a person count (GDPR
    Art. 22); time an agent reported away (or a camera problem) because of an event a
    reviewer rejected counts as at desk."""

    agent_id: int
    name: str
    seconds: dict[str, float]
    adherence: float | None  # None: presence not monitored that day (attendance off)
    events: dict[str, int]  # review "none" or "confirmed"; pending and rejected never count
    awaiting_review: int = 0  # pending events (reviewed types, and any disputed event)
    corrected_s: float = 0.0  # seconds moved to at desk by rejected away / obstruction events


class TeamReport(BaseModel):
    team_id: int
    team: str
    day: date
    scheduled_s: float
    agents: list[AgentReport]
