"""HTML pages over the same services as the JSON API; forms carry a CSRF token."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from deskwatch.rules.camera import cause_words
from deskwatch.server.audit.service import entries
from deskwatch.server.auth.routes import log_in, log_out
from deskwatch.server.bounds import Id
from deskwatch.server.deps import DayDep, NowDep, SessionDep, SettingsDep
from deskwatch.server.orgs import service as orgs
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.reports import service as reports
from deskwatch.server.security import same
from deskwatch.server.status import service as status_service
from deskwatch.server.status.schemas import STATUSES
from deskwatch.server.web.access import (
    AuditPage,
    BoardPage,
    OverseerPage,
    WebUser,
    home_of,
)
from deskwatch.server.web.schemas import Tile

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["statuses"] = STATUSES
TEMPLATES.env.globals["camera_causes"] = cause_words  # a camera event's causes, in words
router = APIRouter(include_in_schema=False)
DAY_UNITS = 1000 / 86400  # SVG units per second of the day


def csrf_of(request: Request) -> str:
    """The session's CSRF token, created for anonymous visitors too (login form)."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return str(request.session["csrf"])


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    expected = str(request.session.get("csrf", ""))
    if not expected or not same(csrf_token, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or bad CSRF token")


Csrf = Depends(check_csrf)


def page(
    request: Request,
    name: str,
    user: User | None,
    session: SessionDep,
    status_code: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    teams: list[Team] = []
    if user is not None and user.role in orgs.OVERSEERS:
        ids = orgs.visible_team_ids(session, user=user)
        teams = list(session.scalars(select(Team).where(Team.id.in_(ids)).order_by(Team.name)))
    context = {"user": user, "csrf": csrf_of(request), "teams": teams, **ctx}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/login")
def login_page(request: Request, session: SessionDep) -> HTMLResponse:
    return page(request, "login.html", None, session)


@router.post("/login", dependencies=[Csrf])
def login_form(
    request: Request,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    outcome = log_in(request, session, username, password, now, settings)
    if outcome.user is None:
        code = status.HTTP_429_TOO_MANY_REQUESTS if outcome.locked else status.HTTP_200_OK
        headers = {"retry-after": str(outcome.retry_after_s)} if outcome.locked else None
        reply = page(request, "login.html", None, session, code, error=outcome.refusal)
        reply.headers.update(headers or {})
        return reply
    return RedirectResponse(home_of(outcome.user), status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout_form(request: Request, session: SessionDep) -> Response:
    """Ends the session on the server (a copied cookie no longer works)."""
    log_out(request, session)
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def board_page(
    request: Request, user: BoardPage, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    rows = status_service.board_for(
        session, user=user, now=now, offline_after_s=settings.offline_after_s
    )
    return page(request, "board.html", user, session, tiles=[Tile.of(row) for row in rows])


@router.get("/agents/{agent_id}")
def timeline_page(
    agent_id: Id,
    day: DayDep,
    request: Request,
    user: WebUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> HTMLResponse:
    tl = reports.timeline_for(
        session,
        user=user,
        agent_id=agent_id,
        day=day,
        now=now,
        offline_after_s=settings.offline_after_s,
    )
    start = reports.day_bounds(day)[0]
    segments = [
        {
            "status": s.status,
            "x": _x(s.start, start),
            "w": max(0.5, s.seconds * DAY_UNITS),
            "start": s.start.strftime("%H:%M"),
            "end": s.end.strftime("%H:%M"),
        }
        for s in tl.segments
    ]
    markers = [
        {"x": _x(max(e.started_at, start), start), "label": f"{e.type} {_clock(e.started_at, day)}"}
        for e in tl.events
    ]
    return page(
        request,
        "timeline.html",
        user,
        session,
        tl=tl,
        segments=segments,
        markers=markers,
        clock=lambda at: _clock(at, day),
    )


def _x(at: datetime, day_start: datetime) -> float:
    return round((at - day_start).total_seconds() * DAY_UNITS, 2)


def _clock(at: datetime, day: date) -> str:
    """The time of day; with the date for a time on another day (an event across midnight)."""
    return f"{at:%H:%M:%S}" if at.date() == day else f"{at:%Y-%m-%d %H:%M:%S}"


@router.get("/teams/{team_id}/report")
def report_page(
    team_id: Id,
    day: DayDep,
    request: Request,
    user: OverseerPage,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> HTMLResponse:
    report = reports.report_for(
        session,
        user=user,
        team_id=team_id,
        day=day,
        now=now,
        offline_after_s=settings.offline_after_s,
        scheduled_s=settings.scheduled_hours * 3600,
    )
    types = sorted({t for a in report.agents for t in a.events})
    return page(request, "report.html", user, session, report=report, types=types)


@router.get("/audit")
def audit_page(request: Request, user: AuditPage, session: SessionDep, now: NowDep) -> HTMLResponse:
    orgs.record_team_read(session, reader=user, what="audit", now=now, everyone=True)
    names = {u.id: u.display_name for u in session.scalars(select(User))}
    return page(request, "audit.html", user, session, entries=entries(session), names=names)
