"""Agent timelines and team daily reports (JSON and CSV). A day runs from midnight to
midnight UTC unless ``?tz=`` names another zone (``Europe/London``); each body says which."""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated

from fastapi import APIRouter, Query, Response

from deskwatch.server.bounds import Id
from deskwatch.server.deps import (
    DayDep,
    NowDep,
    OverseerDep,
    SessionDep,
    SettingsDep,
    UserDep,
    ZoneDep,
)
from deskwatch.server.orgs.models import User
from deskwatch.server.reports import service
from deskwatch.server.reports.schemas import AdherenceTrend, TeamReport, Timeline

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/agents/{agent_id}/timeline")
def timeline(
    agent_id: Id,
    day: DayDep,
    zone: ZoneDep,
    user: UserDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> Timeline:
    return service.timeline_for(
        session,
        user=user,
        agent_id=agent_id,
        day=day,
        now=now,
        offline_after_s=settings.offline_after_s,
        zone=zone,
    )


def _report(
    team_id: Id,
    day: DayDep,
    zone: tzinfo,
    user: User,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> TeamReport:
    return service.report_for(
        session,
        user=user,
        team_id=team_id,
        day=day,
        now=now,
        offline_after_s=settings.offline_after_s,
        scheduled_s=settings.scheduled_hours * 3600,
        zone=zone,
    )


@router.get("/teams/{team_id}/report")
def team_report(
    team_id: Id,
    day: DayDep,
    zone: ZoneDep,
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> TeamReport:
    return _report(team_id, day, zone, user, session, now, settings)


@router.get("/teams/{team_id}/report.csv")
def team_report_csv(
    team_id: Id,
    day: DayDep,
    zone: ZoneDep,
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> Response:
    """The report as CSV; its day runs in ``?tz=`` (UTC by default), as its file name says."""
    report = _report(team_id, day, zone, user, session, now, settings)
    name = f"report-{team_id}-{day}-{str(zone).replace('/', '_')}.csv"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    return Response(service.report_csv(report), media_type="text/csv", headers=headers)


@router.get("/teams/{team_id}/adherence")
def adherence_trend(
    team_id: Id,
    day: DayDep,
    zone: ZoneDep,
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=service.MAX_TREND_DAYS)] = service.TREND_DAYS,
) -> AdherenceTrend:
    """The team's adherence on each of the ``days`` days up to ``day``."""
    return service.trend_for(
        session,
        user=user,
        team_id=team_id,
        last_day=day,
        days=days,
        now=now,
        offline_after_s=settings.offline_after_s,
        scheduled_s=settings.scheduled_hours * 3600,
        zone=zone,
    )
