"""An agent's day (its zoomable timeline) and a team's day (its report with charts). Both
run from midnight to midnight in the page's time zone; the charts' numbers come to the page
as JSON data blocks that /static/report.js and /static/timeline.js draw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from deskwatch.rules.away import AwayConfig
from deskwatch.rules.camera import cause_words
from deskwatch.server.bounds import Day, Id
from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.events.schemas import EventOut
from deskwatch.server.reports import service as reports
from deskwatch.server.reports.schemas import AdherenceTrend, TeamReport, Timeline
from deskwatch.server.status.schemas import STATUSES
from deskwatch.server.web.access import OverseerPage, WebUser
from deskwatch.server.web.pages import duration, page, words, zone_of

router = APIRouter(include_in_schema=False)
PAD = timedelta(minutes=30)  # around the day's activity, for the timeline's first view
SHIFT_START = time(9, 0)  # no schedules yet: the shift shown on a day without data
EVIDENCE_WORDS = {
    "faces": "faces seen",
    "motion": "share of the picture moving",
    "covered_share": "share of the lens covered",
}


DayQuery = Annotated[Day | None, Query()]  # ``?day=YYYY-MM-DD``: today in the page's zone


def _day_in(day: date | None, now: datetime, zone: tzinfo) -> date:
    """The day asked for, else today where the page's zone is."""
    return day or now.astimezone(zone).date()


@dataclass(frozen=True)
class Window:
    """What the timeline shows first, and why."""

    start: datetime
    end: datetime
    why: str


@router.get("/agents/{agent_id}")
def timeline_page(
    agent_id: Id,
    request: Request,
    user: WebUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    day: DayQuery = None,
) -> HTMLResponse:
    zone = zone_of(request, user)
    day = _day_in(day, now, zone)
    tl = reports.timeline_for(
        session,
        user=user,
        agent_id=agent_id,
        day=day,
        now=now,
        offline_after_s=settings.offline_after_s,
        zone=zone,
    )
    bounds = reports.day_bounds(day, zone)
    window = _window(tl, bounds, settings.scheduled_hours, zone, now)
    away = AwayConfig()
    return page(
        request,
        "timeline.html",
        user,
        session,
        tl=tl,
        window=window,
        chart=_timeline_data(tl, bounds, window, now, zone),
        evidence=evidence_words,
        away_min_s=away.min_away_s,
        away_grace_s=away.end_grace_s,
        offline_after_s=settings.offline_after_s,
        at_clock=lambda at: _clock(at, zone, day),
    )


def _activity(tl: Timeline, now: datetime) -> list[tuple[datetime, datetime]]:
    spans = [(s.start, s.end) for s in tl.segments if s.status != "offline"]
    return spans + [(e.started_at, _end(e, now)) for e in tl.events]


def _end(event: EventOut, now: datetime) -> datetime:
    return event.ended_at or max(event.started_at, now)


def _window(
    tl: Timeline, bounds: tuple[datetime, datetime], hours: float, zone: tzinfo, now: datetime
) -> Window:
    """From the first to the last activity, 30 min either side; with none, the scheduled
    hours from 09:00 (there are no schedules yet)."""
    activity = _activity(tl, min(now, bounds[1]))
    if activity:
        start = max(bounds[0], min(a for a, _ in activity) - PAD)
        end = min(bounds[1], max(b for _, b in activity) + PAD)
        return Window(start, max(end, start + PAD), "the day's activity, 30 min either side")
    start = datetime.combine(tl.day, SHIFT_START, tzinfo=zone)
    why = f"no activity this day: the scheduled {duration(hours * 3600)} from 09:00"
    return Window(start, start + timedelta(hours=hours), why)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _timeline_data(
    tl: Timeline, bounds: tuple[datetime, datetime], window: Window, now: datetime, zone: tzinfo
) -> dict[str, Any]:
    """The timeline's lanes and items for /static/timeline.js."""
    items = [
        {
            "id": f"seg-{n}",
            "group": "status",
            "start": _iso(s.start),
            "end": _iso(s.end),
            "content": "",
            "className": f"st-{s.status}",
            "title": f"{words(s.status)} for {duration(s.seconds)}",
        }
        for n, s in enumerate(tl.segments)
    ]
    for e in tl.events:
        end = _end(e, min(now, bounds[1]))
        item = {"id": f"ev-{e.id}", "group": "events", "start": _iso(e.started_at)}
        item |= {"content": words(e.type), "className": "ev", "title": words(e.type)}
        if end > e.started_at:
            item["end"] = _iso(end)
        else:
            item["type"] = "point"
        items.append(item)
    offset = window.start.astimezone(zone).utcoffset() or timedelta()  # the axis's zone
    return {
        "items": items,
        "groups": [{"id": "status", "content": "status"}, {"id": "events", "content": "events"}],
        "window": {"start": _iso(window.start), "end": _iso(window.end)},
        "day": {"start": _iso(bounds[0]), "end": _iso(bounds[1])},
        "offset_min": round(offset.total_seconds() / 60),
    }


def evidence_words(event: EventOut) -> str:
    """An event's evidence in words: ``faces seen 0, share of the picture moving 12%``."""
    parts = []
    if event.type == "camera_obstructed" and cause_words(event.evidence):
        parts.append(cause_words(event.evidence))
    for key, value in event.evidence.items():
        name = EVIDENCE_WORDS.get(key, words(key))
        shown = f"{value:.0%}" if "share" in name else f"{value:g}"
        parts.append(f"{name} {shown}")
    return ", ".join(parts)


def _clock(at: datetime, zone: tzinfo, day: Any) -> str:
    """The time of day in ``zone``; with the date for a time on another day (an event
    across midnight)."""
    local = at.astimezone(zone)
    return f"{local:%H:%M:%S}" if local.date() == day else f"{local:%Y-%m-%d %H:%M:%S}"


@router.get("/teams/{team_id}/report")
def report_page(
    team_id: Id,
    request: Request,
    user: OverseerPage,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    day: DayQuery = None,
) -> HTMLResponse:
    zone = zone_of(request, user)
    day = _day_in(day, now, zone)
    team, agents = reports.team_agents(session, user=user, team_id=team_id, now=now)
    common: dict[str, Any] = {
        "team": team,
        "agents": agents,
        "now": now,
        "offline_after_s": settings.offline_after_s,
        "scheduled_s": settings.scheduled_hours * 3600,
        "zone": zone,
    }
    report = reports.team_report(session, day=day, **common)
    trend = reports.adherence_trend(session, last_day=day, days=reports.TREND_DAYS, **common)
    types = sorted({t for a in report.agents for t in a.events} | set(report.by_hour))
    return page(
        request,
        "report.html",
        user,
        session,
        report=report,
        trend=trend,
        types=types,
        charts=_report_charts(report, trend),
        no_data=[a.name for a in report.agents if a.no_data],
        totals=_totals(report, types),
        count_name=count_name,
        hour_rows=_hour_rows(report),
    )


def _hour_rows(report: TeamReport) -> list[tuple[str, list[int]]]:
    """The hours with counted events: (``09:00``, a count per type)."""
    rows = [(f"{h:02d}:00", [v[h] for v in report.by_hour.values()]) for h in range(24)]
    return [r for r in rows if any(r[1])]


def _totals(report: TeamReport, types: list[str]) -> dict[str, float]:
    """The team's seconds per status and counts per event type, agents with data only."""
    measured = [a for a in report.agents if not a.no_data]
    out: dict[str, float] = {s: sum(a.seconds.get(s, 0.0) for a in measured) for s in STATUSES}
    out |= {f"n:{t}": sum(a.events.get(t, 0) for a in report.agents) for t in types}
    out["awaiting"] = sum(a.awaiting_review for a in report.agents)
    return out


def count_name(event_type: str) -> str:
    """A count column's heading: ``times away``, ``phone (count)``."""
    return "times away" if event_type == "away" else f"{words(event_type)} (count)"


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _report_charts(report: TeamReport, trend: AdherenceTrend) -> dict[str, Any]:
    """The charts' numbers (adherence in %) for /static/report.js."""
    measured = [a for a in report.agents if a.adherence is not None]
    return {
        "agents": {
            "labels": [a.name for a in measured],
            "values": [_pct(a.adherence) for a in measured],
        },
        "trend": {
            "labels": [d.day.isoformat() for d in trend.days],
            "values": [_pct(d.adherence) for d in trend.days],
        },
        "hours": {
            "labels": [f"{h:02d}:00" for h in range(24)],
            "series": [{"label": words(t), "values": v} for t, v in report.by_hour.items()],
        },
    }
