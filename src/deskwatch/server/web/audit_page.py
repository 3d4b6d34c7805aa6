"""The audit log's page (admins and privacy officers): filters, a search, pages of entries
newest first with names instead of ids, and the hash chain's state at the top."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from deskwatch.server.audit import service as audit
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.schemas import AuditFilter
from deskwatch.server.bounds import DB_INT_MAX, MAX_DAY, MIN_DAY
from deskwatch.server.deps import NowDep, SessionDep
from deskwatch.server.orgs import service as orgs
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.web.access import AuditPage
from deskwatch.server.web.pages import page, zone_of

router = APIRouter(include_in_schema=False)
UNPROCESSABLE = 422
PER_PAGE = 50
MAX_PAGE = 10_000  # paging is bounded: narrow the filters to reach older entries
PEOPLE = ("user", "agent")  # subjects naming a person: "agent:12", "user:12:..."


@dataclass(frozen=True)
class Asked:
    """The page's filters as the form sent them (strings, kept for the form and links)."""

    actor: str = ""
    action: str = ""
    subject: str = ""
    start: str = ""
    end: str = ""
    q: str = ""

    def link(self, page_no: int) -> str:
        fields = {k: v for k, v in vars(self).items() if v}
        return "/audit?" + urlencode({**fields, "page_no": page_no} if page_no else fields)


@dataclass(frozen=True)
class Row:
    entry: AuditEntry
    actor: str
    subject: str | None  # the person's or team's name, when the subject names one


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise HTTPException(UNPROCESSABLE, f"{field}: not a date") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise HTTPException(UNPROCESSABLE, f"{field}: out of range")
    return day


def _actor(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) > DB_INT_MAX:
        raise HTTPException(UNPROCESSABLE, "who: not a user")
    return int(text)


def _filters(session: Session, asked: Asked, zone: tzinfo) -> AuditFilter:
    """What the form asked for, as the service's filter; days are the reader's days."""
    start, end = _day(asked.start, "from"), _day(asked.end, "to")
    text_actors: tuple[int, ...] = ()
    if asked.q:
        needle = asked.q.lower()
        named = or_(
            func.lower(User.display_name).contains(needle, autoescape=True),
            func.lower(User.username).contains(needle, autoescape=True),
        )
        text_actors = tuple(session.scalars(select(User.id).where(named).limit(1000)))
    return AuditFilter(
        actor_id=_actor(asked.actor),
        action=asked.action or None,
        subject=asked.subject or None,
        start=_midnight(start, zone) if start else None,
        end=_midnight(end + timedelta(days=1), zone) if end and end < MAX_DAY else None,
        text=asked.q or None,
        text_actors=text_actors,
    )


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _subject_ref(subject: str) -> tuple[str, int] | None:
    """``agent:12:attendance`` → ("agent", 12); None for subjects naming no one."""
    kind, _, rest = subject.partition(":")
    number = rest.split(":", 1)[0]
    if kind in (*PEOPLE, "team") and number.isdigit() and int(number) <= DB_INT_MAX:
        return kind, int(number)
    return None


def _rows(session: Session, shown: list[AuditEntry]) -> list[Row]:
    """The entries with their actors' and subjects' names (one query for each kind)."""
    refs = {e.id: _subject_ref(e.subject) for e in shown}
    people = {e.actor_id for e in shown if e.actor_id is not None}
    people |= {ref[1] for ref in refs.values() if ref and ref[0] in PEOPLE}
    team_ids = {ref[1] for ref in refs.values() if ref and ref[0] == "team"}
    users: dict[int, str] = {
        i: name
        for i, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(people))
        )
    }
    teams: dict[int, str] = {
        i: name
        for i, name in session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))
    }
    rows = []
    for e in shown:
        ref = refs[e.id]
        names = teams if ref and ref[0] == "team" else users
        actor = "a device or the server" if e.actor_id is None else users.get(e.actor_id)
        rows.append(
            Row(e, actor or f"user {e.actor_id} (removed)", names.get(ref[1]) if ref else None)
        )
    return rows


def _actor_choices(session: Session) -> list[tuple[str, str]]:
    ids = audit.actor_ids(session)
    known = {i for i in ids if i is not None}
    names = session.execute(
        select(User.id, User.display_name).where(User.id.in_(known)).order_by(User.display_name)
    )
    choices = [(str(i), name) for i, name in names]
    return [*choices, ("0", "a device or the server")] if None in ids else choices


@router.get("/audit")
def audit_page(
    request: Request,
    user: AuditPage,
    session: SessionDep,
    now: NowDep,
    actor: Annotated[str, Query(max_length=10)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    subject: Annotated[str, Query(max_length=200)] = "",
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page_no: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 0,
) -> HTMLResponse:
    """``?actor=&action=&subject=&start=&end=&q=&page_no=``: reading the log is a read of
    every worker's record (audited, before the entries are read)."""
    asked = Asked(actor, action.strip(), subject.strip(), start, end, q.strip())
    filters = _filters(session, asked, zone_of(request, user))
    orgs.record_team_read(session, reader=user, what="audit", now=now, everyone=True)
    shown, total = audit.search(session, filters=filters, page=page_no, per_page=PER_PAGE)
    pages = max(1, min(MAX_PAGE + 1, -(-total // PER_PAGE)))
    return page(
        request,
        "audit.html",
        user,
        session,
        rows=_rows(session, shown),
        asked=asked,
        total=total,
        page_no=page_no,
        pages=pages,
        first=page_no * PER_PAGE + 1,
        newer=asked.link(page_no - 1) if page_no > 0 else None,
        older=asked.link(page_no + 1) if page_no + 1 < pages else None,
        chain=audit.chain_state(session, shown=shown),
        actors=_actor_choices(session),
        actions=audit.actions(session),
        filtered=any(vars(asked).values()),
    )
