"""The audit log, for admins and privacy officers."""

from __future__ import annotations

from fastapi import APIRouter

from deskwatch.server.audit import service
from deskwatch.server.audit.schemas import AuditOut
from deskwatch.server.deps import AuditReaderDep, NowDep, SessionDep
from deskwatch.server.orgs.service import record_team_read

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
def audit_log(user: AuditReaderDep, session: SessionDep, now: NowDep) -> list[AuditOut]:
    """The newest entries; reading them is a read of every worker's record (audited)."""
    rows = [AuditOut.model_validate(e) for e in service.entries(session)]
    record_team_read(session, reader=user, what="audit", now=now, everyone=True)
    return rows
