"""Comments and disputes (workers), the review queue (supervisors), accuracy (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from deskwatch.server.deps import AuditReaderDep, NowDep, OverseerDep, SessionDep, UserDep
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.reviews import service
from deskwatch.server.reviews.schemas import (
    CommentIn,
    CommentOut,
    DetectorAccuracy,
    QueueItem,
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


@router.get("/reviews")
def review_queue(user: OverseerDep, session: SessionDep, now: NowDep) -> list[QueueItem]:
    return service.queue(session, user=user, now=now)


@router.get("/accuracy")
def accuracy(user: AuditReaderDep, session: SessionDep) -> list[TypeAccuracy]:
    """Each event type's dispute and rejection rate."""
    return service.accuracy(session)


@router.get("/accuracy/detectors")
def detector_accuracy(user: AuditReaderDep, session: SessionDep) -> list[DetectorAccuracy]:
    """Each detector's dispute and rejection rate, over the events its rules read it for."""
    return service.detector_accuracy(session)
