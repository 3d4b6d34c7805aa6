"""Agent timelines and team daily reports (JSON and CSV)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from deskwatch.server.bounds import Id
from deskwatch.server.deps import DayDep, NowDep, OverseerDep, SessionDep, SettingsDep, UserDep
from deskwatch.server.orgs.models import User
from deskwatch.server.reports import service
from deskwatch.server.reports.schemas import TeamReport, Timeline

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/agents/{agent_id}/timeline")
def timeline(
    agent_id: Id,
    day: DayDep,
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
    )


def _report(
    team_id: Id, day: DayDep, user: User, session: SessionDep, now: NowDep, settings: SettingsDep
) -> TeamReport:
    return service.report_for(
        session,
        user=user,
        team_id=team_id,
        day=day,
        now=now,
        offline_after_s=settings.offline_after_s,
        scheduled_s=settings.scheduled_hours * 3600,
    )


@router.get("/teams/{team_id}/report")
def team_report(
    team_id: Id,
    day: DayDep,
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> TeamReport:
    return _report(team_id, day, user, session, now, settings)


@router.get("/teams/{team_id}/report.csv")
def team_report_csv(
    team_id: Id,
    day: DayDep,
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> Response:
    report = _report(team_id, day, user, session, now, settings)
    headers = {"content-disposition": f'attachment; filename="report-{team_id}-{day}.csv"'}
    return Response(service.report_csv(report), media_type="text/csv", headers=headers)
