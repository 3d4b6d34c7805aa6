"""Heartbeats (devices) and the live board (people)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from time import perf_counter

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.deps import (
    CachedDeviceDep,
    ChangesDep,
    HeartbeatsDep,
    NowDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
    SignedInIdDep,
    UserDep,
    VersionsDep,
)
from deskwatch.server.devices.tokens import DeviceIdentity
from deskwatch.server.live import Changes
from deskwatch.server.ops.metrics import HEARTBEAT_MEMORY, HEARTBEAT_STORED
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import visible_agent_ids
from deskwatch.server.policies.service import AgentVersions, VersionCache
from deskwatch.server.status import service
from deskwatch.server.status.buffer import HeartbeatBuffer
from deskwatch.server.status.schemas import BOARD_JSON, BoardRow, Heartbeat, HeartbeatReply

router = APIRouter(prefix="/api/v1", tags=["status"])


@router.post("/heartbeat")
async def heartbeat(
    beat: Heartbeat,
    device: CachedDeviceDep,
    sessions: SessionsDep,
    now: NowDep,
    buffer: HeartbeatsDep,
    cache: VersionsDep,
) -> HeartbeatReply:
    """A heartbeat that repeats what this worker knows, with everything cached, is answered
    from memory on the event loop (``HeartbeatBuffer.note``; stored at the next flush).
    Anything else is one transaction in a thread, committed before the reply."""
    started = perf_counter()
    if buffer.note(device=device, beat=beat, now=now):
        versions = cache.peek(agent_id=device.agent_id, now=now)
        if versions is None:
            versions = await run_in_threadpool(_versions, sessions, cache, device, now)
        HEARTBEAT_MEMORY.observe(perf_counter() - started)
    else:
        versions = await run_in_threadpool(_store, sessions, buffer, cache, device, beat, now)
        HEARTBEAT_STORED.observe(perf_counter() - started)
    return HeartbeatReply(policy_version=versions.policy_version, privacy_rev=versions.privacy_rev)


def _store(
    sessions: sessionmaker[Session],
    buffer: HeartbeatBuffer,
    cache: VersionCache,
    device: DeviceIdentity,
    beat: Heartbeat,
    now: datetime,
) -> AgentVersions:
    with sessions.begin() as session:
        buffer.store(session, device=device, beat=beat, now=now)
        return cache.for_agent(session, agent_id=device.agent_id, now=now)


def _versions(
    sessions: sessionmaker[Session], cache: VersionCache, device: DeviceIdentity, now: datetime
) -> AgentVersions:
    with sessions() as session:
        return cache.for_agent(session, agent_id=device.agent_id, now=now)


@router.get("/board", response_model=list[BoardRow])
def board(user: UserDep, session: SessionDep, now: NowDep, settings: SettingsDep) -> Response:
    """Each visible agent's status and since when (offline after missed heartbeats), their
    team, and whether they are away or offline for longer than ``board_long_absence_s``."""
    rows = service.board_for(
        session,
        user=user,
        now=now,
        offline_after_s=settings.offline_after_s,
        long_absence_s=settings.board_long_absence_s,
    )
    return Response(BOARD_JSON.dump_json(rows), media_type="application/json")


@router.get("/board/stream")
async def board_stream(
    request: Request, changes: ChangesDep, sessions: SessionsDep, user_id: SignedInIdDep
) -> StreamingResponse:
    """Server-sent events: ``change`` whenever a heartbeat or event changed something about
    an agent this reader sees (or about no one in particular).

    The stream carries only a counter, no personal data; the page then re-reads
    ``/api/v1/board``, which applies the role checks.
    """
    stream = _changes(request, changes, sessions, user_id)
    return StreamingResponse(stream, media_type="text/event-stream")


# How often a stream re-reads whom its reader sees (a team may have gained an agent).
WATCHED_EVERY_S = 60.0


def _watched(sessions: sessionmaker[Session], user_id: int) -> frozenset[int] | None:
    """The agents whose changes a reader's board shows (None: every agent, for admins)."""
    with sessions() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return frozenset()
        if user.role == Role.ADMIN:
            return None
        return frozenset(session.scalars(visible_agent_ids(session, user=user)))


async def _changes(
    request: Request,
    changes: Changes,
    sessions: sessionmaker[Session],
    user_id: int,
    poll_s: float = 0.5,
    keepalive_s: float = 15.0,
) -> AsyncIterator[str]:
    seen, quiet, looked = changes.value, 0.0, 0.0
    watched = await run_in_threadpool(_watched, sessions, user_id)
    yield "retry: 3000\n\n"
    while not await request.is_disconnected():
        await asyncio.sleep(poll_s)
        looked += poll_s
        if looked >= WATCHED_EVERY_S:
            watched, looked = await run_in_threadpool(_watched, sessions, user_id), 0.0
        current = changes.value
        relevant = changes.concerns(seen, current, watched)
        seen = current
        if relevant:
            quiet = 0.0
            yield f"event: change\ndata: {seen}\n\n"
        else:
            quiet += poll_s
            if quiet >= keepalive_s:
                quiet = 0.0
                yield ": keepalive\n\n"
