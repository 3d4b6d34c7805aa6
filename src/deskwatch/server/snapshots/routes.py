"""Evidence stills: upload (devices) and viewing (the worker, their supervisors, admins)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from deskwatch.privacy.sealing import SealError
from deskwatch.server.bounds import Id
from deskwatch.server.deps import DeviceDep, NowDep, SessionDep, SettingsDep, UserDep
from deskwatch.server.errors import NotFoundError
from deskwatch.server.orgs.service import agent_for, record_read
from deskwatch.server.snapshots import service
from deskwatch.server.snapshots.schemas import SnapshotIn, SnapshotOut, SnapshotStored

router = APIRouter(prefix="/api/v1", tags=["snapshots"])


@router.post("/snapshots")
def upload(
    body: SnapshotIn, device: DeviceDep, session: SessionDep, now: NowDep, settings: SettingsDep
) -> SnapshotStored:
    try:
        row, duplicate = service.store(
            session, device=device, body=body, now=now, future_skew_s=settings.future_skew_s
        )
    except service.TooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except service.SnapshotOffError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    return SnapshotStored(id=row.id, expires_at=row.expires_at, duplicate=duplicate)


@router.get("/snapshots/{snapshot_id}.jpg")
def snapshot_image(
    snapshot_id: str, user: UserDep, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    row = service.get(session, snapshot_id=snapshot_id, now=now)
    try:
        agent = agent_for(session, user=user, agent_id=row.agent_id)
    except NotFoundError:
        raise NotFoundError(service.NO_SNAPSHOT) from None  # whose it is stays unsaid
    if not service.visible_to(session, viewer=user, agent=agent, rows=[row]):
        raise NotFoundError(service.NO_SNAPSHOT)
    record_read(session, reader=user, agent=agent, what=f"snapshot:{row.id}", now=now)
    try:
        jpeg = service.open_jpeg(row, settings)
    except SealError:
        raise HTTPException(status.HTTP_410_GONE, "the server's key no longer opens it") from None
    headers = {"cache-control": "no-store, private"}
    return Response(jpeg, media_type="image/jpeg", headers=headers)


@router.get("/agents/{agent_id}/snapshots")
def agent_snapshots(
    agent_id: Id, user: UserDep, session: SessionDep, now: NowDep
) -> list[SnapshotOut]:
    agent = agent_for(session, user=user, agent_id=agent_id)
    record_read(session, reader=user, agent=agent, what="snapshots", now=now)
    rows = service.snapshots_of(session, agent_id=agent.id, now=now)
    shown = service.visible_to(session, viewer=user, agent=agent, rows=rows)
    return [SnapshotOut.model_validate(r) for r in shown]
