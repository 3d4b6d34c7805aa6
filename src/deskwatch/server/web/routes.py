"""Signing in and out of the web pages; after signing in, the page that was asked for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from deskwatch.server.auth import oidc
from deskwatch.server.auth.routes import log_in, log_out
from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.web.access import home_of
from deskwatch.server.web.pages import Csrf, page

router = APIRouter(include_in_schema=False)


def safe_next(path: str) -> str:
    """``path`` if it is a page of this site (not another site's address), else ''."""
    ok = path.startswith("/") and not path.startswith(("//", "/\\", "/login"))
    return path if ok and len(path) <= 2000 and "\\" not in path else ""


@router.get("/login")
def login_page(
    request: Request, session: SessionDep, settings: SettingsDep, next: str = ""
) -> HTMLResponse:
    ctx = oidc.login_context(settings)
    return page(request, "login.html", None, session, next=safe_next(next), **ctx)


@router.post("/login", dependencies=[Csrf])
def login_form(
    request: Request,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    ctx = oidc.login_context(settings)
    if not settings.local_login:
        error = oidc.local_off(settings)
        return page(
            request, "login.html", None, session, 403, error=error, next=safe_next(next), **ctx
        )
    outcome = log_in(request, session, username, password, now, settings)
    if outcome.user is None:
        code = status.HTTP_429_TOO_MANY_REQUESTS if outcome.locked else status.HTTP_200_OK
        headers = {"retry-after": str(outcome.retry_after_s)} if outcome.locked else None
        reply = page(
            request,
            "login.html",
            None,
            session,
            code,
            error=outcome.refusal,
            next=safe_next(next),
            **ctx,
        )
        reply.headers.update(headers or {})
        return reply
    return RedirectResponse(safe_next(next) or home_of(outcome.user), status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout_form(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Ends the session on the server (a copied cookie no longer works); after a single
    sign-on, the provider's session too when it offers that."""
    from deskwatch.server.web.sso import after_logout  # sso.py builds on this module

    log_out(request, session)
    return after_logout(request, settings)
