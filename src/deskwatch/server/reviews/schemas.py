"""Comment, dispute and review bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.server.events.schemas import EventOut
from deskwatch.server.reviews.measured import Measured


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["comment", "dispute"]
    body: str = Field(min_length=1, max_length=4000)


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    author_id: int
    kind: str
    body: str
    created_at: datetime


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirmed", "rejected"]
    note: str = Field(default="", max_length=4000)


class QueueItem(BaseModel):
    event: EventOut
    agent_name: str
    comments: list[CommentOut]
    measured: Measured | None = None  # the detector's precision on validation data


class Accuracy(BaseModel):
    """How often workers dispute events and reviewers reject them."""

    total: int
    disputed: int
    confirmed: int
    rejected: int
    dispute_rate: float  # disputed ÷ total
    rejection_rate: float  # rejected ÷ reviewed (confirmed + rejected)


class TypeAccuracy(Accuracy):
    """One event type (one rule)."""

    type: str


class DetectorAccuracy(Accuracy):
    """One detector, over every event whose rule reads it (``event_types``)."""

    detector: str
    event_types: list[str]
