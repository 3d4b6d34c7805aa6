"""The schedules admin page: upload a WFM tool's CSV export, and the WFM tokens that let a
WFM system read adherence (none until an admin creates one; each shown once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from deskwatch.server.bounds import Id
from deskwatch.server.deps import ChangesDep, NowDep, SessionDep
from deskwatch.server.schedules import service
from deskwatch.server.web.access import AdminPage
from deskwatch.server.web.pages import (
    USER_ERRORS,
    Csrf,
    back,
    page,
    plain_exception,
    zone_named,
    zone_names,
)

router = APIRouter(prefix="/admin/schedules", include_in_schema=False)
HOME = "/admin/schedules"
CSV_MAX = 2 * 1024 * 1024  # as the app's body limit


@router.get("")
def schedules_page(request: Request, admin: AdminPage, session: SessionDep) -> Response:
    return page(
        request,
        "schedules.html",
        admin,
        session,
        imports=service.recent_imports(session),
        tokens=service.tokens(session),
        zones=sorted(zone_names()),
    )


@router.post("/upload", dependencies=[Csrf])
async def upload(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    changes: ChangesDep,
    file: Annotated[UploadFile, File()],
    zone: Annotated[str, Form(max_length=64)] = "UTC",
) -> Response:
    """Import the uploaded CSV (all or nothing), local times in ``zone``."""
    tz = zone_named(zone or "UTC")
    if tz is None:
        return back(request, HOME, f"Nothing imported: {zone!r} is not a time zone", error=True)
    text = (await file.read(CSV_MAX + 1)).decode("utf-8", errors="replace")
    try:
        rows = service.rows_from_csv(text, zone=tz)
        result = service.import_schedule(session, user=admin, rows=rows, source="csv", now=now)
    except USER_ERRORS as exc:
        session.rollback()
        return back(request, HOME, plain_exception(exc).removeprefix("schedule: "), error=True)
    changes.publish(session)
    done = f"Imported {result.rows} activities for {result.agents} agents"
    return back(request, HOME, f"{done} (replaced {result.replaced}).")


@router.post("/tokens", dependencies=[Csrf])
def create_token(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    now: NowDep,
    name: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    row, plain = service.create_token(session, admin=admin, name=name.strip() or "WFM", now=now)
    text = f"WFM token {row.name!r}: {plain} (shown only now: copy it into the WFM system)"
    return back(request, HOME, text)


@router.post("/tokens/{token_id}/revoke", dependencies=[Csrf])
def revoke_token(
    request: Request, token_id: Id, admin: AdminPage, session: SessionDep, now: NowDep
) -> Response:
    try:
        row = service.revoke_token(session, admin=admin, token_id=token_id, now=now)
    except USER_ERRORS as exc:
        return back(request, HOME, f"Not revoked: {plain_exception(exc)}", error=True)
    return back(request, HOME, f"WFM token {row.name!r} revoked.")
