"""``POST /api/v1/device/reconfirm``: the worker re-confirms with their password."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from deskwatch.server.deps import DeviceDep, NowDep, SessionDep
from deskwatch.server.identity import service
from deskwatch.server.identity.schemas import ReconfirmRequest, ReconfirmResponse

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.post("/device/reconfirm")
def reconfirm(
    body: ReconfirmRequest, device: DeviceDep, session: SessionDep, now: NowDep
) -> ReconfirmResponse:
    """Is ``password`` the password of this device's agent? Nothing else is stored."""
    try:
        ok, left = service.reconfirm(session, device=device, password=body.password, now=now)
    except service.LockedError as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from None
    return ReconfirmResponse(ok=ok, tries_left=max(0, left))
