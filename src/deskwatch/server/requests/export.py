"""Everything stored about one worker (GDPR Art. 15), who viewed it, and the My data page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from deskwatch.privacy.categories import CATEGORY_KEYS
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.auth.models import LoginSession
from deskwatch.server.devices.models import Device, EnrolmentCode
from deskwatch.server.devices.schemas import DeviceOut
from deskwatch.server.events.models import EventRecord
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.orgs.service import ALL_TEAMS, USER_CHANGED
from deskwatch.server.privacy.models import Objection
from deskwatch.server.privacy.service import my_categories
from deskwatch.server.requests.schemas import (
    CurrentStatus,
    EnrolmentCodeOut,
    IdentityCheckOut,
    MyData,
    MyEvent,
    MyPage,
    ObjectionOut,
    Person,
    RequestOut,
    ScheduledOut,
    SessionOut,
    SnapshotOut,
    StatusOut,
    StatusPage,
    View,
)
from deskwatch.server.requests.service import requests_of
from deskwatch.server.reviews.service import comments_on
from deskwatch.server.schedules.models import ScheduledActivity
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.status.models import AgentStatus, StatusChange

STATUS_PAGE = 50  # status changes per page of My data
VIEWS_ON_PAGE = 200  # newest audit entries on My data (the export has every one)


def my_data(session: Session, *, agent: User, now: datetime) -> MyData:
    """The full export; it names other people only as the viewers of this worker's data."""
    return MyData(
        generated_at=now,
        person=_person(session, agent),
        categories=my_categories(session, agent=agent),
        objections=_objections(session, agent.id),
        devices=[DeviceOut.model_validate(d) for d in _mine(session, Device, agent.id)],
        enrolment_codes=[
            EnrolmentCodeOut.model_validate(c) for c in _mine(session, EnrolmentCode, agent.id)
        ],
        current_status=_current(session, agent.id),
        status_changes=[
            StatusOut.model_validate(c)
            for c in _mine(session, StatusChange, agent.id, StatusChange.at)
        ],
        events=_events(session, agent.id),
        snapshots=[SnapshotOut.model_validate(s) for s in _mine(session, Snapshot, agent.id)],
        identity_checks=[
            IdentityCheckOut.model_validate(c)
            for c in _mine(session, IdentityCheck, agent.id, IdentityCheck.at)
        ],
        schedule=[
            ScheduledOut.model_validate(a)
            for a in _mine(session, ScheduledActivity, agent.id, ScheduledActivity.start)
        ],
        sessions=_sessions(session, agent.id),
        requests=[RequestOut.model_validate(r) for r in requests_of(session, agent_id=agent.id)],
        views=who_viewed(session, agent=agent),
        my_actions=_audit(session, AuditEntry.actor_id == agent.id),
    )


def _sessions(session: Session, agent_id: int) -> list[SessionOut]:
    """The worker's sign-ins (when, last used; never the tokens), oldest first."""
    mine = select(LoginSession).where(LoginSession.user_id == agent_id)
    rows = session.scalars(mine.order_by(LoginSession.created_at))
    return [SessionOut.model_validate(r) for r in rows]


def my_page(session: Session, *, agent: User, page: int) -> MyPage:
    """My data as the page shows it (``page``: of the status history, 0 the newest)."""
    return MyPage(
        person=_person(session, agent),
        categories=my_categories(session, agent=agent),
        objections=_objections(session, agent.id),
        current_status=_current(session, agent.id),
        status=status_history(session, agent_id=agent.id, page=page),
        events=_events(session, agent.id),
        snapshots=[SnapshotOut.model_validate(s) for s in _mine(session, Snapshot, agent.id)],
        sessions=_sessions(session, agent.id),
        requests=[RequestOut.model_validate(r) for r in requests_of(session, agent_id=agent.id)],
        views=who_viewed(session, agent=agent, limit=VIEWS_ON_PAGE),
    )


def status_history(
    session: Session, *, agent_id: int, page: int, per_page: int = STATUS_PAGE
) -> StatusPage:
    page = max(0, page)
    query = (
        select(StatusChange)
        .where(StatusChange.agent_id == agent_id)
        .order_by(StatusChange.at.desc(), StatusChange.id.desc())
        .offset(page * per_page)
        .limit(per_page + 1)
    )
    rows = [StatusOut.model_validate(c) for c in session.scalars(query)]
    return StatusPage(changes=rows[:per_page], page=page, older=len(rows) > per_page)


def _person(session: Session, agent: User) -> Person:
    team = session.get(Team, agent.team_id) if agent.team_id else None
    return Person(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=agent.role,
        team=team.name if team else None,
        created_at=agent.created_at,
    )


def _current(session: Session, agent_id: int) -> CurrentStatus | None:
    status = session.get(AgentStatus, agent_id)
    return None if status is None else CurrentStatus.model_validate(status)


def _objections(session: Session, agent_id: int) -> list[ObjectionOut]:
    query = select(Objection).where(Objection.agent_id == agent_id).order_by(Objection.category)
    return [ObjectionOut(category=o.category, since=o.created_at) for o in session.scalars(query)]


def _mine(session: Session, model: Any, agent_id: int, *order: Any) -> list[Any]:
    return list(session.scalars(select(model).where(model.agent_id == agent_id).order_by(*order)))


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


def subjects_about(session: Session, *, agent: User) -> list[str]:
    """Every audit subject that names this worker alone: them (their account and logins),
    their objections, their devices, and reads of every team. A list of exact values, so
    the lookup uses the subject index."""
    devices = session.scalars(select(Device.id).where(Device.agent_id == agent.id))
    subjects = [f"agent:{agent.id}", *(f"agent:{agent.id}:{k}" for k in CATEGORY_KEYS)]
    return [*subjects, f"user:{agent.id}", *(f"device:{d}" for d in devices), ALL_TEAMS]


TeamSpell = tuple[int, datetime | None, datetime | None]  # team, joined, left (None: open)


def team_spells(session: Session, *, agent: User) -> list[TeamSpell]:
    """The teams the worker has been in and when, from the audit log's record of moves
    (without one: their team, always)."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject == f"user:{agent.id}", AuditEntry.action == USER_CHANGED)
        .order_by(AuditEntry.id)
    )
    moves = [(e.at, e.detail["team_id"]) for e in entries if "team_id" in e.detail]
    team = moves[0][1][0] if moves else agent.team_id
    spells: list[TeamSpell] = []
    joined: datetime | None = None
    for at, (_, new) in moves:
        if team is not None:
            spells.append((team, joined, at))
        team, joined = new, at
    if team is not None:
        spells.append((team, joined, None))
    return spells


def _in_team(spell: TeamSpell) -> ColumnElement[bool]:
    """Entries about the team (its reads and its monitoring settings) while the worker was
    in it."""
    team, joined, left = spell
    subject = f"team:{team}"
    where: list[ColumnElement[bool]] = [
        AuditEntry.subject.in_([subject, *(f"{subject}:{k}" for k in CATEGORY_KEYS)])
    ]
    if joined is not None:
        where.append(AuditEntry.at >= joined)
    if left is not None:
        where.append(AuditEntry.at < left)
    return and_(*where)


def who_viewed(session: Session, *, agent: User, limit: int | None = None) -> list[View]:
    """Audit entries about this worker made by someone else (or by the system), newest
    first: reads of their data (their team's too, while they were in it), and changes to
    it and their devices."""
    about = or_(
        AuditEntry.subject.in_(subjects_about(session, agent=agent)),
        *(_in_team(spell) for spell in team_spells(session, agent=agent)),
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
        View(
            id=e.id,
            at=e.at,
            who=name or "system",
            role=role or "",
            action=e.action,
            subject=e.subject,
        )
        for e, name, role in session.execute(query)
    ]
