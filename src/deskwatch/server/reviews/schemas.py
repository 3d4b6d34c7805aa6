"""Comment, dispute and review bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from deskwatch.events.event import EventType
from deskwatch.server.bounds import Day, Id, Page
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.reviews.measured import Measured
from deskwatch.server.snapshots.schemas import SnapshotOut
from deskwatch.server.status.schemas import StatusPeriod as Span

# Which events a queue lists: waiting (disputed ones first), disputed and waiting, decided.
ReviewState = Literal["pending", "disputed", "confirmed", "rejected"]
REVIEW_STATES: tuple[str, ...] = ("pending", "disputed", "confirmed", "rejected")
MAX_PER_PAGE = 200
MAX_BULK = 100  # events one bulk decision may cover
EVENT_ID_LENGTH = 36
NOTE_LENGTH = 4000


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
    note: str = Field(default="", max_length=NOTE_LENGTH)


class BulkReviewIn(ReviewIn):
    """One decision, and one note, for several events (each recorded as a single review)."""

    event_ids: list[Annotated[str, Field(min_length=1, max_length=EVENT_ID_LENGTH)]] = Field(
        min_length=1, max_length=MAX_BULK, description="the events decided, at most 100"
    )

    def each(self) -> ReviewIn:
        return ReviewIn(decision=self.decision, note=self.note)


class QueueFilter(BaseModel):
    """What a review queue lists: all optional but the state (``pending`` by default).

    ``since`` / ``until``: the events that started in [since, until)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: Id | None = None
    type: EventType | None = None
    state: ReviewState = "pending"
    since: datetime | None = None
    until: datetime | None = None
    page: Page = 0
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)


class QueueQuery(BaseModel):
    """A queue's filters as a page or the API takes them: ``since`` / ``until`` are days
    (both included) in the caller's time zone (UTC for the API)."""

    agent_id: Id | None = None
    type: EventType | None = None
    state: ReviewState = "pending"
    since: Day | None = None
    until: Day | None = None
    page: Page = 0
    per_page: int = Field(default=50, ge=1, le=MAX_PER_PAGE)

    @field_validator("agent_id", "type", "since", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value  # an empty field of the page's filter form

    def filter(self, zone: tzinfo) -> QueueFilter:
        """The filter, with the days' bounds in ``zone``."""

        def start(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

        return QueueFilter(
            agent_id=self.agent_id,
            type=self.type,
            state=self.state,
            since=start(self.since) if self.since else None,
            until=start(self.until + timedelta(days=1)) if self.until else None,
            page=self.page,
            per_page=self.per_page,
        )


class Context(BaseModel):
    """The agent's statuses from ``start`` to ``end``: 30 min either side of the event."""

    start: datetime
    end: datetime
    spans: list[Span]


class QueueItem(BaseModel):
    event: EventOut
    agent_name: str
    comments: list[CommentOut]
    measured: Measured | None = None  # the detector's precision on validation data
    detectors: list[str] = []  # the detectors the event's rule reads
    evidence_words: list[str] = []  # the evidence in plain words
    context: Context | None = None  # the agent's timeline around the event
    snapshot: SnapshotOut | None = None  # the blurred still, where there is one to see


class QueuePage(BaseModel):
    """One page of a queue, and how many events the whole filtered queue holds."""

    items: list[QueueItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


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
