"""The audit log, for admins and privacy officers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from deskwatch.server.audit import service
from deskwatch.server.audit.schemas import AuditFilter, AuditOut
from deskwatch.server.bounds import DB_INT_MAX
from deskwatch.server.deps import AuditReaderDep, NowDep, SessionDep
from deskwatch.server.orgs.service import record_team_read

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
def audit_log(
    user: AuditReaderDep,
    session: SessionDep,
    now: NowDep,
    actor_id: Annotated[int | None, Query(ge=0, le=DB_INT_MAX)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=0, le=10_000)] = 0,
    per_page: Annotated[int, Query(ge=1, le=500)] = 500,
) -> list[AuditOut]:
    """The newest entries (``per_page`` a page, newest first), optionally only those of
    ``actor_id`` (0: a device or the server), an ``action``, a ``subject`` (``agent:12``
    also finds ``agent:12:…``), at or after ``start`` and before ``end``, or holding the
    text ``q`` in the action, subject or detail. Reading them is a read of every worker's
    record (audited)."""
    filters = AuditFilter(
        actor_id=actor_id, action=action, subject=subject, start=start, end=end, text=q
    )
    shown, _ = service.search(session, filters=filters, page=page, per_page=per_page)
    rows = [AuditOut.model_validate(e) for e in shown]
    record_team_read(session, reader=user, what="audit", now=now, everyone=True)
    return rows
