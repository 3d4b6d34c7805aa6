"""Your account: the time zone pages use and a new password (every role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from deskwatch.server.audit.service import record
from deskwatch.server.auth.routes import start_session
from deskwatch.server.deps import NowDep, SessionDep
from deskwatch.server.flows import change_password
from deskwatch.server.security import verify_password
from deskwatch.server.web.access import WebUser
from deskwatch.server.web.pages import Csrf, back, page, zone_named, zone_names

router = APIRouter(prefix="/account", include_in_schema=False)


@router.get("")
def account_page(request: Request, user: WebUser, session: SessionDep) -> HTMLResponse:
    return page(request, "account.html", user, session, zones=sorted(zone_names()))


@router.post("/time-zone", dependencies=[Csrf])
def time_zone_form(
    request: Request,
    user: WebUser,
    session: SessionDep,
    now: NowDep,
    time_zone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """An IANA zone, or empty for the browser's own."""
    if time_zone and zone_named(time_zone) is None:
        return back(request, "/account", f"Not saved: {time_zone} is not a time zone.", error=True)
    user.time_zone = time_zone or None
    record(session, actor=user, action="user:time_zone", subject=f"user:{user.id}", now=now)
    shown = time_zone or "your browser's time zone"
    return back(request, "/account", f"Times are now shown in {shown}.")


@router.post("/password", dependencies=[Csrf])
def password_form(
    request: Request,
    user: WebUser,
    session: SessionDep,
    now: NowDep,
    current_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(min_length=10, max_length=200)],
) -> Response:
    """Every session of the user ends; this browser continues under a new one."""
    if not verify_password(user.password_hash, current_password):
        return back(request, "/account", "Not changed: the current password is wrong.", error=True)
    change_password(session, user=user, password=new_password, now=now)
    request.session.clear()
    start_session(request, session, user, now)
    return back(request, "/account", "Password changed; your other sessions have ended.")
