"""The audit log's page (admins and privacy officers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from deskwatch.server.audit.service import entries
from deskwatch.server.deps import NowDep, SessionDep
from deskwatch.server.orgs import service as orgs
from deskwatch.server.orgs.models import User
from deskwatch.server.web.access import AuditPage
from deskwatch.server.web.pages import page

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, user: AuditPage, session: SessionDep, now: NowDep) -> HTMLResponse:
    orgs.record_team_read(session, reader=user, what="audit", now=now, everyone=True)
    names = {u.id: u.display_name for u in session.scalars(select(User))}
    return page(request, "audit.html", user, session, entries=entries(session), names=names)
