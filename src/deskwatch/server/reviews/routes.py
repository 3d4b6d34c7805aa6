"""Comments and disputes (workers), the review queue (supervisors), accuracy (admins)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query

from deskwatch.server.deps import (
    AuditReaderDep,
    NowDep,
    OverseerDep,
    SessionDep,
    SettingsDep,
    UserDep,
)
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.reviews import service
from deskwatch.server.reviews.schemas import (
    BulkReviewIn,
    CommentIn,
    CommentOut,
    DetectorAccuracy,
    QueueItem,
    QueueQuery,
    ReviewIn,
    TypeAccuracy,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"])


@router.post("/events/{event_id}/comments", status_code=201)
def comment(
    event_id: str, body: CommentIn, user: UserDep, session: SessionDep, now: NowDep
) -> CommentOut:
    row = service.comment(session, user=user, event_id=event_id, body=body, now=now)
    return CommentOut.model_validate(row)


@router.get("/events/{event_id}/comments")
def comments(event_id: str, user: UserDep, session: SessionDep, now: NowDep) -> list[CommentOut]:
    event = service.visible_event(session, user=user, event_id=event_id, now=now)
    return service.comments_on(session, event_ids=[event.id])[event.id]


@router.post("/events/{event_id}/review")
def review(
    event_id: str, body: ReviewIn, user: OverseerDep, session: SessionDep, now: NowDep
) -> EventOut:
    event = service.review(session, reviewer=user, event_id=event_id, decision=body, now=now)
    return EventOut.model_validate(event)


@router.post("/reviews")
def review_bulk(
    body: BulkReviewIn, user: OverseerDep, session: SessionDep, now: NowDep
) -> list[EventOut]:
    """One decision for several events, each recorded as a single review: all or none."""
    events = service.review_many(session, reviewer=user, decision=body, now=now)
    return [EventOut.model_validate(e) for e in events]


@router.get("/reviews")
def review_queue(
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    query: Annotated[QueueQuery, Query()],
) -> list[QueueItem]:
    """The events of one review ``state`` (``pending`` by default: disputed first), filtered
    and paged; ``since`` and ``until`` are UTC days (the events that started on them or
    between them)."""
    filters = query.filter(UTC)
    return service.queue(
        session, user=user, now=now, filters=filters, offline_after_s=settings.offline_after_s
    )


@router.get("/accuracy")
def accuracy(user: AuditReaderDep, session: SessionDep) -> list[TypeAccuracy]:
    """Each event type's dispute and rejection rate."""
    return service.accuracy(session)


@router.get("/accuracy/detectors")
def detector_accuracy(user: AuditReaderDep, session: SessionDep) -> list[DetectorAccuracy]:
    """Each detector's dispute and rejection rate, over the events its rules read it for."""
    return service.detector_accuracy(session)
