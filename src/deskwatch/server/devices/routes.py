"""Enrolment (device side) and device administration."""

from __future__ import annotations

from fastapi import APIRouter

from deskwatch.server.audit.service import record
from deskwatch.server.deps import (
    AdminDep,
    ChangesDep,
    NowDep,
    SessionDep,
    SettingsDep,
    TokensDep,
)
from deskwatch.server.devices import service
from deskwatch.server.devices.schemas import (
    CodeRequest,
    CodeResponse,
    DeviceOut,
    EnrolRequest,
    EnrolResponse,
)
from deskwatch.server.orgs.models import User
from deskwatch.server.orgs.service import record_team_read

router = APIRouter(prefix="/api/v1", tags=["devices"])


@router.post("/devices/enroll", status_code=201)
def enroll(body: EnrolRequest, session: SessionDep, now: NowDep) -> EnrolResponse:
    device, token = service.enrol(session, code=body.code, hostname=body.hostname, now=now)
    agent = session.get(User, device.agent_id)
    record(session, actor=None, action="device:enrolled", subject=f"device:{device.id}", now=now)
    return EnrolResponse(
        device_id=device.id,
        token=token,
        agent_id=device.agent_id,
        team_id=agent.team_id if agent else None,
    )


@router.post("/admin/enrolment-codes", status_code=201)
def create_code(
    body: CodeRequest, admin: AdminDep, session: SessionDep, now: NowDep, settings: SettingsDep
) -> CodeResponse:
    code, row = service.create_code(
        session, admin=admin, agent_id=body.agent_id, now=now, ttl_s=settings.enrolment_code_ttl_s
    )
    record(session, actor=admin, action="device:code", subject=f"agent:{body.agent_id}", now=now)
    return CodeResponse(code=code, agent_id=row.agent_id, expires_at=row.expires_at)


@router.get("/admin/devices")
def list_devices(admin: AdminDep, session: SessionDep, now: NowDep) -> list[DeviceOut]:
    record_team_read(session, reader=admin, what="devices", now=now, everyone=True)
    return [DeviceOut.model_validate(d) for d in service.list_devices(session)]


@router.post("/admin/devices/{device_id}/revoke")
def revoke(
    device_id: str,
    admin: AdminDep,
    session: SessionDep,
    now: NowDep,
    tokens: TokensDep,
    changes: ChangesDep,
) -> DeviceOut:
    device = service.revoke_everywhere(
        session, device_id=device_id, admin=admin, now=now, tokens=tokens, changes=changes
    )
    return DeviceOut.model_validate(device)
