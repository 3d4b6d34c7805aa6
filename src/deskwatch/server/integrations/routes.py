"""Integrations (admins only): sinks, their dead letters and replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from deskwatch.server.bounds import Id
from deskwatch.server.deps import AdminDep, NowDep, SessionDep, SettingsDep
from deskwatch.server.integrations import service
from deskwatch.server.integrations.schemas import (
    DeadLetter,
    DiscardOut,
    ReplayIn,
    ReplayOut,
    SinkChange,
    SinkCreated,
    SinkIn,
    SinkOut,
)

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


def _out(session: SessionDep, sink_id: int) -> SinkOut:
    return next(s for s in service.list_sinks(session) if s.id == sink_id)


@router.get("")
def list_sinks(admin: AdminDep, session: SessionDep) -> list[SinkOut]:
    return service.list_sinks(session)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_sink(
    body: SinkIn, admin: AdminDep, session: SessionDep, now: NowDep, settings: SettingsDep
) -> SinkCreated:
    sink, made = service.create_sink(
        session, admin=admin, body=body, now=now, signing_key=settings.signing_key()
    )
    return SinkCreated(**_out(session, sink.id).model_dump(), secret=made)


@router.get("/{sink_id}")
def get_sink(sink_id: Id, admin: AdminDep, session: SessionDep) -> SinkOut:
    service.get_sink(session, sink_id=sink_id)
    return _out(session, sink_id)


@router.patch("/{sink_id}")
def change_sink(
    sink_id: Id,
    body: SinkChange,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> SinkOut:
    service.change_sink(
        session,
        admin=admin,
        sink_id=sink_id,
        change=body,
        now=now,
        signing_key=settings.signing_key(),
    )
    return _out(session, sink_id)


@router.delete("/{sink_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_sink(sink_id: Id, admin: AdminDep, session: SessionDep, now: NowDep) -> Response:
    service.delete_sink(session, admin=admin, sink_id=sink_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{sink_id}/dead-letters")
def dead_letters(
    sink_id: Id, admin: AdminDep, session: SessionDep, now: NowDep
) -> list[DeadLetter]:
    return service.dead_letters(session, reader=admin, sink_id=sink_id, now=now)


@router.post("/{sink_id}/dead-letters/replay")
def replay(
    sink_id: Id, body: ReplayIn, admin: AdminDep, session: SessionDep, now: NowDep
) -> ReplayOut:
    count = service.replay(session, admin=admin, sink_id=sink_id, ids=body.ids, now=now)
    return ReplayOut(replayed=count)


@router.delete("/{sink_id}/dead-letters")
def discard(
    sink_id: Id,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
    ids: Annotated[list[Id] | None, Query(max_length=1000)] = None,
) -> DiscardOut:
    """Delete dead letters unsent: all of the sink's, or those ``?ids=`` names."""
    count = service.discard(session, admin=admin, sink_id=sink_id, ids=ids, now=now)
    return DiscardOut(discarded=count)
