"""Heartbeat and live-board bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one below Python 3.12

# "online": the agent runs but presence is not monitored (attendance is off for the worker,
# or the agent is still waiting for the worker's privacy settings).
DeviceStatus = Literal["at_desk", "away", "paused", "camera_problem", "online"]
BoardStatus = Literal["at_desk", "away", "paused", "camera_problem", "online", "offline"]
STATUSES: tuple[BoardStatus, ...] = get_args(BoardStatus)
# An agent's clock this far off shows on the board (the worker's page warns from the same).
CLOCK_WARN_S = 60.0
# The statuses that count as an absence on the board (highlighted once long).
ABSENT: frozenset[BoardStatus] = frozenset({"away", "offline"})


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    status: DeviceStatus
    sent_at: datetime
    paused_for_s: float | None = Field(default=None, ge=0)
    detectors: dict[str, bool] = Field(default_factory=dict, max_length=32)
    # How far the PC's clock is ahead of the server's, as the agent measured it.
    clock_offset_s: float | None = Field(default=None, ge=-1e9, le=1e9)


class HeartbeatReply(BaseModel):
    policy_version: int
    privacy_rev: int = 0


class BoardRow(TypedDict):
    """One agent on the live board: a typed dict, built once and dumped straight to JSON
    (10,000 of them skip a validation pass)."""

    agent_id: int
    name: str
    team_id: int | None
    team_name: str | None
    status: BoardStatus
    since: datetime | None
    last_seen_at: datetime | None
    clock: str | None  # a clock problem in words (None: the agent's clock is right)
    long_absence: bool  # away or offline longer than the board's threshold
    scheduled_activity: str | None  # the activity scheduled now (None: no schedule now)
    expected_at_desk: bool | None  # whether that activity is at the desk (None: no schedule)


def clock_note(offset_s: float | None) -> str | None:
    """A clock problem in words, when the agent's clock is off by ``CLOCK_WARN_S`` or more
    (its events are still stored: the agent corrects their times before sending)."""
    if offset_s is None or abs(offset_s) < CLOCK_WARN_S:
        return None
    return f"clock {abs(offset_s):.0f} s {'fast' if offset_s > 0 else 'slow'}"


BOARD_JSON = TypeAdapter(list[BoardRow])


class StatusPeriod(BaseModel):
    """One period in a single status, from ``start`` to ``end``."""

    status: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()
