"""Schedule imports (JSON and CSV), WFM tokens, and adherence for WFM systems: a stream of
state changes and a daily intervals export.

The adherence endpoints admit a signed-in admin or supervisor (their teams' agents) or a
WFM token an admin created (every agent). No token exists until an admin creates one:
until then no WFM system can read anything. Every read is audited.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.service import record
from deskwatch.server.bounds import Id
from deskwatch.server.deps import (
    AdminDep,
    ChangesDep,
    DayDep,
    NowDep,
    OverseerDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
    ZoneDep,
    get_now,
    signed_in,
)
from deskwatch.server.live import Changes
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import (
    ALL_TEAMS,
    record_team_read,
    visible_agent_ids,
    visible_agents,
)
from deskwatch.server.reports import service as reports
from deskwatch.server.reports.schemas import AdherenceInterval
from deskwatch.server.schedules import service
from deskwatch.server.schedules.models import WfmToken
from deskwatch.server.schedules.schemas import (
    MAX_ROWS,
    ImportResult,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from deskwatch.server.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["schedules"])


@router.post("/schedules", status_code=201)
def import_json(
    rows: Annotated[list[dict[str, Any]], Body(max_length=MAX_ROWS)],
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
) -> ImportResult:
    """Import scheduled activities: ``[{"agent": "jo", "start": "2026-11-02T09:00+00:00",
    "end": "...", "activity": "Open"}, ...]`` (``agent``: a username or a user id). All or
    nothing: a 422 names every bad row by its number (from 1)."""
    numbered = service.rows_from_json(rows)
    result = service.import_schedule(session, user=user, rows=numbered, source="api", now=now)
    changes.publish(session)
    return result


@router.post("/schedules.csv", status_code=201)
def import_csv(
    body: Annotated[bytes, Body(media_type="text/csv")],
    user: OverseerDep,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
    zone: ZoneDep,
) -> ImportResult:
    """Import a WFM CSV export (the body, ``text/csv``): ``agent,date,start,end,activity``
    with local times in ``?tz=`` (UTC by default), or ``agent,start,end,activity`` with ISO
    times. All or nothing; rows are numbered as the file's lines (the header is row 1)."""
    numbered = service.rows_from_csv(body.decode("utf-8", errors="replace"), zone=zone)
    result = service.import_schedule(session, user=user, rows=numbered, source="csv", now=now)
    changes.publish(session)
    return result


@router.post("/admin/wfm-tokens", status_code=201)
def create_token(body: TokenIn, admin: AdminDep, session: SessionDep, now: NowDep) -> TokenCreated:
    """A token a WFM system reads adherence with; shown once (only its hash is stored)."""
    row, plain = service.create_token(session, admin=admin, name=body.name, now=now)
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=plain)


@router.get("/admin/wfm-tokens")
def list_tokens(admin: AdminDep, session: SessionDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.tokens(session)]


@router.post("/admin/wfm-tokens/{token_id}/revoke")
def revoke_token(token_id: Id, admin: AdminDep, session: SessionDep, now: NowDep) -> TokenOut:
    row = service.revoke_token(session, admin=admin, token_id=token_id, now=now)
    return TokenOut.model_validate(row)


@dataclass(frozen=True)
class Reader:
    """Who reads adherence: a signed-in admin or supervisor, or a WFM token (its id)."""

    user_id: int | None
    token_id: int | None


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _reader(request: Request, session: Session, now: datetime, settings: Settings) -> Reader:
    token = _bearer(request)
    if token is not None:
        row = service.token_reader(session, token=token, now=now)
        if row is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked WFM token")
        return Reader(None, row.id)
    user = signed_in(request, session, now=now, settings=settings)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login or a WFM token required")
    if user.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role")
    return Reader(user.id, None)


async def adherence_reader(
    request: Request, sessions: SessionsDep, now: NowDep, settings: SettingsDep
) -> Reader:
    """The reader, checked in a short session of its own (the stream holds none)."""

    def check() -> Reader:
        with sessions.begin() as session:
            return _reader(request, session, now, settings)

    return await run_in_threadpool(check)


ReaderDep = Annotated[Reader, Depends(adherence_reader)]


def _audit(session: Session, reader: Reader, what: str, now: datetime) -> None:
    if reader.user_id is None:
        detail = {"wfm_token": reader.token_id}
        action = f"read:{what}"
        record(session, actor=None, action=action, subject=ALL_TEAMS, now=now, detail=detail)
        return
    user = session.get(User, reader.user_id)
    assert user is not None
    record_team_read(session, reader=user, what=what, now=now)


def _agents(session: Session, reader: Reader) -> Select[int]:
    """The ids of the agents ``reader`` sees: every agent for a WFM token."""
    if reader.user_id is None:
        return select(User.id).where(User.role == Role.AGENT)
    user = session.get(User, reader.user_id)
    if user is None or not user.active:
        return select(User.id).where(User.id.is_(None))
    return visible_agent_ids(session, user=user)


def _agent_list(session: Session, reader: Reader) -> list[User]:
    if reader.user_id is None:
        return list(session.scalars(select(User).where(User.role == Role.AGENT).order_by(User.id)))
    user = session.get(User, reader.user_id)
    return [] if user is None else visible_agents(session, user=user)


@router.get("/adherence/intervals", response_model=list[AdherenceInterval])
def adherence_intervals(
    reader: ReaderDep,
    day: DayDep,
    zone: ZoneDep,
    sessions: SessionsDep,
    now: NowDep,
    settings: SettingsDep,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    interval_min: Annotated[int, Query(ge=5, le=60)] = 15,
) -> Response:
    """The day (``?day=``, in ``?tz=``) in intervals of ``interval_min`` minutes, per agent:
    seconds in each status, the activity scheduled, and seconds in and out of adherence."""
    with sessions.begin() as session:
        rows = reports.intervals(
            session,
            agents=_agent_list(session, reader),
            day=day,
            now=now,
            offline_after_s=settings.offline_after_s,
            interval_min=interval_min,
            zone=zone,
        )
        _audit(session, reader, "adherence_intervals", now)
    if fmt == "csv":
        name = f"adherence-{day}-{str(zone).replace('/', '_')}.csv"
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        return Response(reports.intervals_csv(rows), media_type="text/csv", headers=headers)
    body = json.dumps([r.model_dump(mode="json") for r in rows])
    return Response(body, media_type="application/json")


@router.get("/adherence/stream")
async def adherence_stream(
    request: Request,
    reader: ReaderDep,
    changes: ChangesDep,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """Server-sent events: first each visible agent's ``state``, then a ``state`` event
    whenever one changes (a heartbeat, going offline, or a scheduled activity beginning):
    ``{agent_id, username, state, since, scheduled_activity, in_adherence}``."""
    stream = _states(request, reader, changes, sessions, settings.offline_after_s)
    return StreamingResponse(stream, media_type="text/event-stream")


# How often a stream looks again without a change signal (silence, schedule boundaries),
# and re-checks its reader (a revoked token, a switched-off user, a team's new agent).
REREAD_EVERY_S = 10.0
RECHECK_EVERY_S = 60.0


def _read_states(
    sessions: sessionmaker[Session], reader: Reader, offline_after_s: float, now: datetime
) -> list[dict[str, Any]] | None:
    """The visible agents' states now (None: the reader may no longer read)."""
    with sessions.begin() as session:
        if reader.token_id is not None and not _token_live(session, reader.token_id):
            return None
        states = reports.adherence_states(
            session, agents=_agents(session, reader), now=now, offline_after_s=offline_after_s
        )
        return [s.model_dump(mode="json") for s in states]


def _token_live(session: Session, token_id: int) -> bool:
    row = session.get(WfmToken, token_id)
    return row is not None and row.revoked_at is None


def _opened(sessions: sessionmaker[Session], reader: Reader, now: datetime) -> None:
    with sessions.begin() as session:
        _audit(session, reader, "adherence_stream", now)


async def _states(
    request: Request,
    reader: Reader,
    changes: Changes,
    sessions: sessionmaker[Session],
    offline_after_s: float,
    poll_s: float = 0.5,
) -> AsyncIterator[str]:
    await run_in_threadpool(_opened, sessions, reader, await get_now(request))
    sent: dict[int, dict[str, Any]] = {}
    seen, waited = -1, REREAD_EVERY_S
    yield "retry: 3000\n\n"
    while not await request.is_disconnected():
        current = changes.value
        if current != seen or waited >= REREAD_EVERY_S:
            seen, waited = current, 0.0
            rows = await run_in_threadpool(
                _read_states, sessions, reader, offline_after_s, await get_now(request)
            )
            if rows is None:
                yield "event: end\ndata: the WFM token was revoked\n\n"
                return
            for row in rows:
                if sent.get(row["agent_id"]) != row:
                    sent[row["agent_id"]] = row
                    yield f"event: state\ndata: {json.dumps(row)}\n\n"
        await asyncio.sleep(poll_s)
        waited += poll_s
