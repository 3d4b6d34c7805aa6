"""The audit log, for admins and privacy officers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from deskwatch.server.audit import service
from deskwatch.server.deps import AuditReaderDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    detail: dict[str, Any]


@router.get("/audit")
def audit_log(user: AuditReaderDep, session: SessionDep) -> list[AuditOut]:
    return [AuditOut.model_validate(e) for e in service.entries(session)]
