"""Everything stored about one worker (GDPR Art. 15), and who viewed it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.devices.models import Device, EnrolmentCode
from deskwatch.server.devices.schemas import DeviceOut
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.privacy.models import Objection
from deskwatch.server.privacy.schemas import MyCategory, RequestOut
from deskwatch.server.privacy.service import my_categories, requests_of
from deskwatch.server.reviews.schemas import CommentOut
from deskwatch.server.reviews.service import comments_on
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.status.models import AgentStatus, StatusChange


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


class SnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    event_id: str
    category: str
    taken_at: datetime
    expires_at: datetime


class View(BaseModel):
    """One audit-log entry about this worker: who read or changed what, and when."""

    at: datetime
    who: str
    role: str
    action: str
    subject: str


class MyData(BaseModel):
    generated_at: datetime
    person: Person
    categories: list[MyCategory]
    objections: list[str]
    devices: list[DeviceOut]
    enrolment_codes: list[dict[str, Any]]
    current_status: dict[str, Any] | None
    status_changes: list[StatusOut]
    events: list[MyEvent]
    snapshots: list[SnapshotOut]
    requests: list[RequestOut]
    views: list[View]
    my_actions: list[View]


def my_data(session: Session, *, agent: User, now: datetime) -> MyData:
    """The full export; it names other people only as the viewers of this worker's data."""
    team = session.get(Team, agent.team_id) if agent.team_id else None
    status = session.get(AgentStatus, agent.id)
    return MyData(
        generated_at=now,
        person=Person(
            id=agent.id,
            username=agent.username,
            display_name=agent.display_name,
            role=agent.role,
            team=team.name if team else None,
            created_at=agent.created_at,
        ),
        categories=my_categories(session, agent=agent),
        objections=sorted(
            session.scalars(select(Objection.category).where(Objection.agent_id == agent.id))
        ),
        devices=[DeviceOut.model_validate(d) for d in _mine(session, Device, agent.id)],
        enrolment_codes=[
            {"created_at": c.created_at, "expires_at": c.expires_at, "used_at": c.used_at}
            for c in _mine(session, EnrolmentCode, agent.id)
        ],
        current_status=None
        if status is None
        else {"status": status.status, "since": status.since, "last_seen_at": status.last_seen_at},
        status_changes=[
            StatusOut.model_validate(c) for c in _mine(session, StatusChange, agent.id)
        ],
        events=_events(session, agent.id),
        snapshots=[SnapshotOut.model_validate(s) for s in _mine(session, Snapshot, agent.id)],
        requests=[RequestOut.model_validate(r) for r in requests_of(session, agent_id=agent.id)],
        views=who_viewed(session, agent=agent),
        my_actions=_audit(session, AuditEntry.actor_id == agent.id),
    )


def _mine(session: Session, model: Any, agent_id: int) -> list[Any]:
    return list(session.scalars(select(model).where(model.agent_id == agent_id)))


def _events(session: Session, agent_id: int) -> list[MyEvent]:
    rows = list(
        session.scalars(
            select(EventRecord)
            .where(EventRecord.agent_id == agent_id)
            .order_by(EventRecord.started_at)
        )
    )
    notes = comments_on(session, event_ids=[e.id for e in rows])
    return [MyEvent.model_validate(e).model_copy(update={"comments": notes[e.id]}) for e in rows]


def who_viewed(session: Session, *, agent: User, limit: int | None = None) -> list[View]:
    """Audit entries about this worker (or their team's reports) made by someone else."""
    about = or_(
        AuditEntry.subject == f"agent:{agent.id}",
        AuditEntry.subject.startswith(f"agent:{agent.id}:"),
        AuditEntry.subject == f"team:{agent.team_id}",
    )
    by_other = or_(AuditEntry.actor_id.is_(None), AuditEntry.actor_id != agent.id)
    return _audit(session, about, by_other, limit=limit)


def _audit(session: Session, *where: Any, limit: int | None = None) -> list[View]:
    query = (
        select(AuditEntry, User.display_name, User.role)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        View(at=e.at, who=name or "system", role=role or "", action=e.action, subject=e.subject)
        for e, name, role in session.execute(query)
    ]
