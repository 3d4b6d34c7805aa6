"""Workers comment on and dispute events; supervisors confirm or reject them (GDPR Art. 22)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS
from deskwatch.server.audit.service import record
from deskwatch.server.errors import NotFoundError, RefusedError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.events.service import mark_reviewed
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import agent_for, record_read, visible_agent_ids
from deskwatch.server.reviews.evidence import evidence_words
from deskwatch.server.reviews.measured import measured
from deskwatch.server.reviews.models import EventComment
from deskwatch.server.reviews.schemas import (
    BulkReviewIn,
    CommentIn,
    CommentOut,
    Context,
    DetectorAccuracy,
    QueueFilter,
    QueueItem,
    QueuePage,
    ReviewIn,
    TypeAccuracy,
)
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.snapshots.schemas import SnapshotOut
from deskwatch.server.snapshots.service import visible_to
from deskwatch.server.status.models import AgentStatus
from deskwatch.server.status.schemas import StatusPeriod as Span
from deskwatch.server.status.service import changes_between

# The one answer for an event that does not exist and for one the caller may not see.
NO_EVENT = "no such event"
DISPUTED_NEEDS_NOTE = (
    "the worker disputed this event: confirming it needs a note that tells them why"
)


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
    if decision.decision == "confirmed" and event.disputed and not decision.note.strip():
        raise RefusedError(DISPUTED_NEEDS_NOTE)
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


def review_many(
    session: Session, *, reviewer: User, decision: BulkReviewIn, now: datetime
) -> list[EventRecord]:
    """One decision for several events, each recorded and audited as a single review; all
    or none (the first refusal names its event, and the caller rolls back)."""
    done = []
    for event_id in dict.fromkeys(decision.event_ids):
        try:
            done.append(
                review(
                    session, reviewer=reviewer, event_id=event_id, decision=decision.each(), now=now
                )
            )
        except (NotFoundError, RefusedError) as exc:
            raise type(exc)(f"event {event_id}: {exc}") from None
    return done


CONTEXT = timedelta(minutes=30)  # the agent's timeline shown either side of an event


def _ended(event: EventRecord, now: datetime) -> datetime:
    if event.ended_at is not None:
        return event.ended_at
    if event.duration_s is not None:
        return event.started_at + timedelta(seconds=event.duration_s)
    return now


def context_of(
    session: Session, *, event: EventRecord, now: datetime, offline_after_s: float
) -> Context:
    """The agent's status periods from 30 min before the event to 30 min after it (or now);
    before the first heartbeat and after a silence: offline. The caller audits the read."""
    start = event.started_at - CONTEXT
    end = max(start, min(_ended(event, now) + CONTEXT, now))
    marks = [
        (max(c.at, start), c.status)
        for c in changes_between(session, agent_id=event.agent_id, start=start, end=end)
    ]
    latest = session.get(AgentStatus, event.agent_id)
    if latest is not None:
        silent_from = latest.last_seen_at + timedelta(seconds=offline_after_s)
        if start < silent_from < end:
            marks.append((silent_from, "offline"))
    marks.sort(key=lambda m: m[0])
    if not marks or marks[0][0] > start:
        marks.insert(0, (start, "offline"))
    bounds = [m[0] for m in marks[1:]] + [end]
    spans: list[Span] = []
    for (at, status), until in zip(marks, bounds, strict=True):
        if until <= at:
            continue
        if spans and spans[-1].status == status:
            spans[-1] = Span(status=status, start=spans[-1].start, end=until)
        else:
            spans.append(Span(status=status, start=at, end=until))
    return Context(start=start, end=end, spans=spans)


def _filtered(session: Session, *, user: User, filters: QueueFilter) -> Select[EventRecord]:
    agents = visible_agent_ids(session, user=user).where(User.id != user.id)
    query = select(EventRecord).where(EventRecord.agent_id.in_(agents.scalar_subquery()))
    if filters.state == "disputed":
        query = query.where(EventRecord.review == "pending", EventRecord.disputed.is_(True))
    else:
        query = query.where(EventRecord.review == filters.state)
    if filters.agent_id is not None:
        query = query.where(EventRecord.agent_id == filters.agent_id)
    if filters.type is not None:
        query = query.where(EventRecord.type == filters.type)
    if filters.since is not None:
        query = query.where(EventRecord.started_at >= filters.since)
    if filters.until is not None:
        query = query.where(EventRecord.started_at < filters.until)
    return query


def _ordered(query: Select[EventRecord], state: str) -> Select[EventRecord]:
    if state in ("confirmed", "rejected"):  # the latest decisions first
        return query.order_by(EventRecord.reviewed_at.desc(), EventRecord.id)
    return query.order_by(EventRecord.disputed.desc(), EventRecord.started_at, EventRecord.id)


def _stills(
    session: Session, *, viewer: User, agents: dict[int, User], event_ids: list[str], now: datetime
) -> dict[str, SnapshotOut]:
    """The unexpired stills of these events that ``viewer`` may see (metadata only: the
    picture's own route audits each look at it)."""
    rows = list(
        session.scalars(
            select(Snapshot).where(Snapshot.event_id.in_(event_ids), Snapshot.expires_at > now)
        )
    )
    shown: dict[str, SnapshotOut] = {}
    for agent_id, agent in agents.items():
        theirs = [r for r in rows if r.agent_id == agent_id]
        if theirs:
            for row in visible_to(session, viewer=viewer, agent=agent, rows=theirs):
                shown[row.event_id] = SnapshotOut.model_validate(row)
    return shown


def queue_page(
    session: Session,
    *,
    user: User,
    now: datetime,
    filters: QueueFilter | None = None,
    offline_after_s: float = 90.0,
) -> QueuePage:
    """One page of the events of the agents ``user`` oversees that match ``filters``
    (pending ones by default: disputed first, oldest first), each with its context.

    Showing the queue is a read of each listed agent's data, so each is audited."""
    filters = filters or QueueFilter()
    query = _filtered(session, user=user, filters=filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = _ordered(query, filters.state).offset(filters.page * filters.per_page)
    events = list(session.scalars(page.limit(filters.per_page)))
    agents = {
        a.id: a
        for a in session.scalars(select(User).where(User.id.in_({e.agent_id for e in events})))
    }
    notes = comments_on(session, event_ids=[e.id for e in events])
    stills = _stills(session, viewer=user, agents=agents, event_ids=[e.id for e in events], now=now)
    for agent_id in sorted(agents):
        record(session, actor=user, action="read:reviews", subject=f"agent:{agent_id}", now=now)
    items = [
        QueueItem(
            event=EventOut.model_validate(e),
            agent_name=agents[e.agent_id].display_name,
            comments=notes[e.id],
            measured=measured().get(e.type),
            detectors=sorted(DETECTORS_OF.get(e.type, frozenset())),
            evidence_words=evidence_words(e.type, e.evidence, e.duration_s),
            context=context_of(session, event=e, now=now, offline_after_s=offline_after_s),
            snapshot=stills.get(e.id),
        )
        for e in events
    ]
    return QueuePage(items=items, total=total, page=filters.page, per_page=filters.per_page)


def queue(
    session: Session,
    *,
    user: User,
    now: datetime,
    filters: QueueFilter | None = None,
    offline_after_s: float = 90.0,
) -> list[QueueItem]:
    """The items of ``queue_page``."""
    return queue_page(
        session, user=user, now=now, filters=filters, offline_after_s=offline_after_s
    ).items


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
