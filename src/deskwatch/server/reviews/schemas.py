"""Comment, dispute and review bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.server.events.schemas import EventOut


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


class DetectorAccuracy(BaseModel):
    """Per event type: how often workers dispute it and reviewers reject it."""

    type: str
    total: int
    disputed: int
    confirmed: int
    rejected: int
    dispute_rate: float
    rejection_rate: float  # rejected ÷ reviewed
