"""Data-request bodies and the worker's export (My data)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.server.devices.schemas import DeviceOut
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.privacy.schemas import MyCategory
from deskwatch.server.reviews.schemas import CommentOut

RequestKind = Literal["erasure", "rectification"]
RequestStatus = Literal["open", "in_progress", "done", "refused"]


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RequestKind
    body: str = Field(min_length=3, max_length=4000)


class RequestUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RequestStatus
    response: str = Field(default="", max_length=4000)


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agent_id: int
    kind: str
    body: str
    status: str
    response: str
    created_at: datetime
    updated_at: datetime


class Person(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    team: str | None
    created_at: datetime


class MyEvent(EventOut):
    reviewed_at: datetime | None = None
    comments: list[CommentOut] = Field(default_factory=list)


class StatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str
    at: datetime


class CurrentStatus(BaseModel):
    """The latest heartbeat's status (``agent_status``)."""

    model_config = ConfigDict(from_attributes=True)

    status: str
    since: datetime
    last_seen_at: datetime
    paused_for_s: float | None
    clock_offset_s: float | None  # how far the PC's clock was ahead of the server's


class EnrolmentCodeOut(BaseModel):
    """A one-time code made for the worker (only its hash is stored; it is not shown)."""

    model_config = ConfigDict(from_attributes=True)

    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class ObjectionOut(BaseModel):
    category: str
    since: datetime


class ScheduledOut(BaseModel):
    """One scheduled activity imported from the workforce-management system."""

    model_config = ConfigDict(from_attributes=True)

    start: datetime
    end: datetime
    activity: str
    at_desk_expected: bool
    source: str
    imported_at: datetime


class IdentityCheckOut(BaseModel):
    """A password re-confirmation from one of the worker's devices."""

    model_config = ConfigDict(from_attributes=True)

    device_id: str
    at: datetime
    ok: bool


class SessionOut(BaseModel):
    """A signed-in browser of the worker's (its tokens are never shown)."""

    model_config = ConfigDict(from_attributes=True)

    created_at: datetime
    last_seen_at: datetime


class SnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    event_id: str
    category: str
    taken_at: datetime
    expires_at: datetime


class View(BaseModel):
    """One audit-log entry about this worker: who read or changed what, and when."""

    id: int
    at: datetime
    who: str
    role: str
    action: str
    subject: str


class MyData(BaseModel):
    generated_at: datetime
    person: Person
    categories: list[MyCategory]
    objections: list[ObjectionOut]
    devices: list[DeviceOut]
    enrolment_codes: list[EnrolmentCodeOut]
    current_status: CurrentStatus | None
    status_changes: list[StatusOut]
    events: list[MyEvent]
    snapshots: list[SnapshotOut]
    identity_checks: list[IdentityCheckOut]
    schedule: list[ScheduledOut]
    sessions: list[SessionOut]
    requests: list[RequestOut]
    views: list[View]
    my_actions: list[View]


class StatusPage(BaseModel):
    """One page of the status history, newest first; ``page`` 0 is the newest."""

    changes: list[StatusOut]
    page: int
    older: bool


class MyPage(BaseModel):
    """What the My data page shows: the newest views and one page of status history."""

    person: Person
    categories: list[MyCategory]
    objections: list[ObjectionOut]
    current_status: CurrentStatus | None
    status: StatusPage
    events: list[MyEvent]
    snapshots: list[SnapshotOut]
    requests: list[RequestOut]
    views: list[View]
