"""The event record shared by the edge pipeline, the agent and the server."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

EventType = Literal[
    "away",
    "phone_in_use",
    "extra_person",
    "camera_obstructed",
    "looking_away",
    "eating_drinking",
    "background_noise",
    "other_voice",
    "identity_verified",
    "identity_mismatch",
    "identity_unverified",
    "self_check",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


class Event(BaseModel):
    """One compliance event with a stable id and a start / end life.

    ``start_s``/``end_s`` are source seconds (position in the video, or seconds since the
    camera opened). ``started_at``/``ended_at`` are wall-clock times, set by the agent when
    the source is live; a recording analysed offline leaves them empty. An open event
    (``end_s`` is None) is later re-sent with the same id once it ends.
    """

    # NaN and infinities are refused: JSON has no such numbers and PostgreSQL's JSONB
    # refuses them; edge code builds evidence with ``finite_evidence``.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: EventType
    start_s: float = Field(ge=0)
    end_s: float | None = Field(default=None, ge=0)
    peak_confidence: float = Field(ge=0, le=1)
    evidence: dict[str, float] = Field(default_factory=dict, max_length=64)
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: object) -> object:
        """Accept the wire form, whose ``duration_s`` is derived, not stored."""
        if isinstance(data, dict) and "duration_s" in data:
            data = {k: v for k, v in data.items() if k != "duration_s"}
        return data

    @model_validator(mode="after")
    def _end_after_start(self) -> Event:
        if self.end_s is not None and self.end_s < self.start_s:
            raise ValueError("end_s is before start_s")
        return self

    @property
    def duration_s(self) -> float | None:
        return None if self.end_s is None else round(self.end_s - self.start_s, 3)

    @property
    def is_open(self) -> bool:
        return self.end_s is None

    def closed(self, end_s: float, **changes: object) -> Event:
        """This event ended at ``end_s`` (same id)."""
        ended_at = None
        if self.started_at is not None:
            ended_at = self.started_at + timedelta(seconds=end_s - self.start_s)
        return self.model_copy(update={"end_s": end_s, "ended_at": ended_at, **changes})

    def to_json_dict(self) -> dict[str, object]:
        """The wire form: the model's fields plus the derived duration."""
        data = self.model_dump(mode="json")
        data["duration_s"] = self.duration_s
        return data


def finite_evidence(values: Mapping[str, float], digits: int = 3) -> dict[str, float]:
    """``values`` rounded, without NaN or infinite entries (a measure that failed is left
    out rather than sent as a number no one can store)."""
    return {k: round(float(v), digits) for k, v in values.items() if math.isfinite(v)}
