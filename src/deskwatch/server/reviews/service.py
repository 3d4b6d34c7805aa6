"""Workers comment on and dispute events; supervisors confirm or reject them (GDPR Art. 22)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS
from deskwatch.server.audit.service import record
from deskwatch.server.errors import NotFoundError, RefusedError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.events.service import mark_reviewed
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import agent_for, record_read, visible_agent_ids
from deskwatch.server.reviews.measured import measured
from deskwatch.server.reviews.models import EventComment
from deskwatch.server.reviews.schemas import (
    CommentIn,
    CommentOut,
    DetectorAccuracy,
    QueueItem,
    ReviewIn,
    TypeAccuracy,
)

# The one answer for an event that does not exist and for one the caller may not see.
NO_EVENT = "no such event"


def visible_event(
    session: Session, *, user: User, event_id: str, now: datetime | None = None
) -> EventRecord:
    """The event if ``user`` may see its agent; NotFoundError otherwise (no existence leak).

    With ``now``, an overseer's look at it is recorded as a read of the agent's data."""
    event = session.get(EventRecord, event_id)
    if event is None:
        raise NotFoundError(NO_EVENT)
    try:
        agent = agent_for(session, user=user, agent_id=event.agent_id)
    except NotFoundError:
        raise NotFoundError(NO_EVENT) from None  # not "no agent N": whose it is stays unsaid
    if now is not None:
        record_read(session, reader=user, agent=agent, what="event", now=now)
    return event


def comment(
    session: Session, *, user: User, event_id: str, body: CommentIn, now: datetime
) -> EventComment:
    """The worker's own comment or dispute; a dispute sends the event (back) to review."""
    event = visible_event(session, user=user, event_id=event_id)
    if event.agent_id != user.id:
        raise RefusedError("only the worker the event is about can comment on or dispute it")
    row = EventComment(
        event_id=event.id, author_id=user.id, kind=body.kind, body=body.body, created_at=now
    )
    session.add(row)
    if body.kind == "dispute":
        event.disputed = True
        if event.review != "rejected":
            event.review = "pending"
        record(session, actor=user, action="event:disputed", subject=f"event:{event.id}", now=now)
    session.flush()
    return row


def comments_on(session: Session, *, event_ids: list[str]) -> dict[str, list[CommentOut]]:
    out: dict[str, list[CommentOut]] = {i: [] for i in event_ids}
    query = (
        select(EventComment)
        .where(EventComment.event_id.in_(event_ids))
        .order_by(EventComment.created_at, EventComment.id)
    )
    for row in session.scalars(query):
        out[row.event_id].append(CommentOut.model_validate(row))
    return out


def review(
    session: Session, *, reviewer: User, event_id: str, decision: ReviewIn, now: datetime
) -> EventRecord:
    """Confirm or reject a pending event of an agent the reviewer oversees (audited)."""
    if reviewer.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise RefusedError("only supervisors and admins review events")
    event = visible_event(session, user=reviewer, event_id=event_id)
    if event.agent_id == reviewer.id:
        raise RefusedError("nobody reviews their own events")
    if event.review != "pending":
        raise RefusedError(f"event {event_id} is not waiting for review ({event.review})")
    mark_reviewed(
        event, decision=decision.decision, note=decision.note, reviewer_id=reviewer.id, now=now
    )
    record(
        session,
        actor=reviewer,
        action=f"review:{decision.decision}",
        subject=f"agent:{event.agent_id}",
        now=now,
        detail={"event": event.id, "type": event.type},
    )
    return event


def queue(session: Session, *, user: User, now: datetime, limit: int = 200) -> list[QueueItem]:
    """Pending events of the agents ``user`` oversees, disputed first, oldest first.

    Showing the queue is a read of each listed agent's data, so each is audited."""
    agents = visible_agent_ids(session, user=user).where(User.id != user.id)
    query = (
        select(EventRecord, User.display_name)
        .join(User, User.id == EventRecord.agent_id)
        .where(EventRecord.review == "pending", EventRecord.agent_id.in_(agents.scalar_subquery()))
        .order_by(EventRecord.disputed.desc(), EventRecord.started_at)
        .limit(limit)
    )
    rows = list(session.execute(query))
    notes = comments_on(session, event_ids=[e.id for e, _ in rows])
    for agent_id in sorted({e.agent_id for e, _ in rows}):
        record(session, actor=user, action="read:reviews", subject=f"agent:{agent_id}", now=now)
    return [
        QueueItem(
            event=EventOut.model_validate(e),
            agent_name=name,
            comments=notes[e.id],
            measured=measured().get(e.type),
        )
        for e, name in rows
    ]


# The detectors each event type's rule reads (as each rule declares them), plus the
# room-audio analyser for the rules that listen, the identity check (dlib face descriptors,
# face-mesh liveness) and the self-check (face detection and mesh).
DETECTORS_OF: dict[str, frozenset[str]] = {
    **{
        t: needs | ({"room_audio"} if t in AUDIO_RULES else set())
        for t, needs in RULE_NEEDS.items()
    },
    **dict.fromkeys(
        ("identity_verified", "identity_mismatch", "identity_unverified"),
        frozenset({"face_descriptor", "face_mesh"}),
    ),
    "self_check": frozenset({"face", "face_mesh"}),
}


def _rates(total: int, disputed: int, confirmed: int, rejected: int) -> dict[str, float | int]:
    reviewed = confirmed + rejected
    return {
        "total": total,
        "disputed": disputed,
        "confirmed": confirmed,
        "rejected": rejected,
        "dispute_rate": round(disputed / total, 4) if total else 0.0,
        "rejection_rate": round(rejected / reviewed, 4) if reviewed else 0.0,
    }


def _tallies(session: Session) -> dict[str, tuple[int, int, int, int]]:
    """Per event type: (total, disputed, confirmed, rejected)."""
    query = select(
        EventRecord.type, EventRecord.review, EventRecord.disputed, func.count()
    ).group_by(EventRecord.type, EventRecord.review, EventRecord.disputed)
    out: dict[str, tuple[int, int, int, int]] = {}
    for kind, state, was_disputed, n in session.execute(query):
        t, d, c, r = out.get(kind, (0, 0, 0, 0))
        out[kind] = (
            t + n,
            d + (n if was_disputed else 0),
            c + (n if state == "confirmed" else 0),
            r + (n if state == "rejected" else 0),
        )
    return out


def accuracy(session: Session) -> list[TypeAccuracy]:
    """Dispute and rejection rates per event type, as people judged the events."""
    return [
        TypeAccuracy.model_validate({"type": kind, **_rates(*counts)})
        for kind, counts in sorted(_tallies(session).items())
    ]


def detector_accuracy(session: Session) -> list[DetectorAccuracy]:
    """The same per detector: every event counts for each detector its rule reads, so a
    detector's rates are those of the events built on what it saw."""
    sums: dict[str, list[int]] = {}
    types: dict[str, list[str]] = {}
    for kind, counts in sorted(_tallies(session).items()):
        for detector in DETECTORS_OF.get(kind, frozenset({"unmapped"})):
            total = sums.setdefault(detector, [0, 0, 0, 0])
            sums[detector] = [a + b for a, b in zip(total, counts, strict=True)]
            types.setdefault(detector, []).append(kind)
    return [
        DetectorAccuracy.model_validate(
            {"detector": name, "event_types": types[name], **_rates(*sums[name])}
        )
        for name in sorted(sums)
    ]
