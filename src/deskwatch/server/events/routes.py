"""Event ingest (devices) and event reads (people, scoped by role)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from deskwatch.server import flows
from deskwatch.server.bounds import Id
from deskwatch.server.deps import (
    ChangesDep,
    DayDep,
    DeviceDep,
    NowDep,
    SessionDep,
    SettingsDep,
    UserDep,
    ZoneDep,
)
from deskwatch.server.events import service
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import EventOut, IngestBatch, IngestResult
from deskwatch.server.ops.metrics import EVENTS_RECEIVED
from deskwatch.server.orgs.service import agent_for, record_read
from deskwatch.server.reports.service import day_bounds, events_csv

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.post("/events")
def ingest(
    body: IngestBatch,
    device: DeviceDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    changes: ChangesDep,
) -> IngestResult:
    result = flows.ingest_events(
        session, device=device, events=body.events, now=now, future_skew_s=settings.future_skew_s
    )
    if result.new or result.updated:
        changes.publish(session, device.agent_id, forget=False)
    EVENTS_RECEIVED.inc(len(body.events))
    return result


def _agent_events(
    agent_id: Id,
    day: DayDep,
    zone: ZoneDep,
    user: UserDep,
    session: SessionDep,
    now: NowDep,
    what: str,
) -> list[EventRecord]:
    """The events that started on ``day`` (midnight to midnight in ``?tz=``, UTC unset)."""
    agent = agent_for(session, user=user, agent_id=agent_id)
    record_read(session, reader=user, agent=agent, what=what, now=now)
    start, end = day_bounds(day, zone)
    return service.events_between(session, agent_ids=[agent.id], start=start, end=end)


@router.get("/agents/{agent_id}/events")
def agent_events(
    agent_id: Id, day: DayDep, zone: ZoneDep, user: UserDep, session: SessionDep, now: NowDep
) -> list[EventOut]:
    rows = _agent_events(agent_id, day, zone, user, session, now, "events")
    return [EventOut.model_validate(e) for e in rows]


@router.get("/agents/{agent_id}/events.csv")
def agent_events_csv(
    agent_id: Id, day: DayDep, zone: ZoneDep, user: UserDep, session: SessionDep, now: NowDep
) -> Response:
    """The day's events as CSV; the times in it are UTC whatever ``?tz=`` the day runs in."""
    rows = _agent_events(agent_id, day, zone, user, session, now, "events.csv")
    headers = {"content-disposition": f'attachment; filename="events-{agent_id}-{day}.csv"'}
    return Response(events_csv(rows), media_type="text/csv", headers=headers)
