"""The DPIA draft for the privacy officer and admins: an HTML page and a Markdown download."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.dpia.render import DRAFT_NOTE, TITLE, to_markdown
from deskwatch.server.dpia.service import read, retention_of
from deskwatch.server.web.access import AuditPage
from deskwatch.server.web.pages import page

router = APIRouter(prefix="/privacy", include_in_schema=False)


@router.get("/dpia")
def dpia_page(
    request: Request, user: AuditPage, session: SessionDep, now: NowDep, settings: SettingsDep
) -> HTMLResponse:
    doc = read(session, reader=user, now=now, retention=retention_of(settings), what="html")
    return page(request, "dpia.html", user, session, doc=doc, title=TITLE, note=DRAFT_NOTE)


@router.get("/dpia.md")
def dpia_markdown(
    user: AuditPage, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    doc = read(session, reader=user, now=now, retention=retention_of(settings), what="md")
    name = f"dpia-draft-{now:%Y-%m-%d}.md"
    return Response(
        to_markdown(doc),
        media_type="text/markdown; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
