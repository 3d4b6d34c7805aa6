"""Schedule import bodies, the activity → at-desk mapping, and WFM token bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# Activity names as WFM tools export them; the agent is expected at the desk during these.
AT_DESK_ACTIVITIES = frozenset({"open", "phone", "email", "chat", "work"})
# ...and not during these. An activity in neither list is not expected at the desk either
# (an unknown name never makes someone look absent), unless its row says otherwise.
AWAY_ACTIVITIES = frozenset({"break", "lunch", "meeting", "training", "offline", "leave"})
MAX_ROWS = 50_000  # rows per upload (the body itself is capped at 2 MiB by the app)
ACTIVITY_MAX = 60
Source = Literal["csv", "api"]
Activity = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
AgentRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def expected_at_desk(activity: str, override: bool | None = None) -> bool:
    """Whether an agent is expected at the desk during ``activity`` (``override`` wins)."""
    if override is not None:
        return override
    return activity.strip().lower() in AT_DESK_ACTIVITIES


class ScheduleRow(BaseModel):
    """One scheduled activity: ``agent`` is a username or a user id; times carry an offset."""

    model_config = ConfigDict(extra="forbid")

    agent: AgentRef | int
    start: AwareDatetime
    end: AwareDatetime
    activity: Activity
    at_desk_expected: bool | None = None  # None: from the activity's name


class ImportResult(BaseModel):
    batch: str
    rows: int
    agents: int
    replaced: int  # activities the import replaced (same agents, overlapping times)


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    agent_id: int
    start: datetime
    end: datetime
    activity: str
    at_desk_expected: bool
    source: str
    batch: str


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once: only its SHA-256 is stored")
