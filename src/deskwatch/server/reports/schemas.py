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
    agent_id: int
    name: str
    seconds: dict[str, float]
    adherence: float
    events: dict[str, int]  # confirmed by a reviewer where review is needed (GDPR Art. 22)
    awaiting_review: int = 0  # events not counted: pending (or rejected: never counted)


class TeamReport(BaseModel):
    team_id: int
    team: str
    day: date
    scheduled_s: float
    agents: list[AgentReport]
