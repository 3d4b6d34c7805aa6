"""Timeline and report bodies."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from deskwatch.server.events.schemas import EventOut
from deskwatch.server.status.schemas import StatusPeriod as Segment


class Timeline(BaseModel):
    """An agent's day; ``zone``: the time zone it runs in (00:00 to 24:00 there)."""

    agent_id: int
    name: str
    day: date
    zone: str = "UTC"
    segments: list[Segment]
    events: list[EventOut]


class ActivityAdherence(BaseModel):
    """One scheduled activity (the part of it in the day, and until now): for an activity
    at the desk, ``in_s`` is time at desk or online, ``out_s`` the rest (away, offline, a
    camera problem, paused); ``paused_s`` is the paused part of ``out_s``, shown apart
    (a pause needs no reason). Away from the desk is in adherence during an activity
    that is not at the desk; ``worked_during_break_s`` (at desk then) is information only."""

    activity: str
    start: datetime
    end: datetime
    at_desk_expected: bool
    scheduled_s: float
    in_s: float
    out_s: float
    paused_s: float = 0.0
    worked_during_break_s: float = 0.0


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
    # No heartbeat or status at all that day: nothing measured (adherence None, no seconds),
    # never a made-up day offline.
    no_data: bool = False
    # From the agent's schedule that day (None: no schedule, ``scheduled_s`` of the team
    # applies): the time scheduled at the desk so far, and each scheduled activity.
    scheduled_s: float | None = None
    activities: list[ActivityAdherence] = Field(default_factory=list)


class TeamReport(BaseModel):
    """A team's day. ``zone``: the time zone the day runs in (00:00 to 24:00 there)."""

    team_id: int
    team: str
    day: date
    scheduled_s: float
    agents: list[AgentReport]
    zone: str = "UTC"
    # The mean adherence of the agents measured that day (no data, not monitored: left out).
    adherence: float | None = None
    # Counted events by type and by hour of the day (in ``zone``), 24 counts each.
    by_hour: dict[str, list[int]] = Field(default_factory=dict)


class DayAdherence(BaseModel):
    """A team's adherence on one day: the mean of the agents measured that day."""

    day: date
    adherence: float | None  # None: nobody measured
    measured: int  # agents with data and presence monitored


class AdherenceTrend(BaseModel):
    team_id: int
    zone: str = "UTC"
    days: list[DayAdherence]


class AdherenceInterval(BaseModel):
    """One agent's interval of a day, for a WFM tool: seconds in each status, and in and
    out of adherence against the scheduled activities (both 0 where nothing is scheduled)."""

    agent_id: int
    username: str
    interval_start: datetime
    interval_min: int
    scheduled_activity: str | None
    seconds: dict[str, float]
    in_adherence_s: float
    out_of_adherence_s: float


class AdherenceState(BaseModel):
    """An agent's state now, for the adherence stream; ``in_adherence`` None: no activity
    scheduled now."""

    agent_id: int
    username: str
    state: str
    since: datetime | None
    scheduled_activity: str | None
    in_adherence: bool | None
