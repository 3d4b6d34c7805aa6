"""An agent's day (its timeline) and a team's day (its report)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from deskwatch.server.bounds import Id
from deskwatch.server.deps import DayDep, NowDep, SessionDep, SettingsDep
from deskwatch.server.reports import service as reports
from deskwatch.server.web.access import OverseerPage, WebUser
from deskwatch.server.web.pages import page

router = APIRouter(include_in_schema=False)
DAY_UNITS = 1000 / 86400  # SVG units per second of the day


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
