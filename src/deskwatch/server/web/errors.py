"""Errors on web pages: an HTML page in the site's style that says what happened and what to
do, instead of the API's JSON. API routes (``/api/``) keep their JSON shapes."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from deskwatch.server.deps import signed_in_detached
from deskwatch.server.orgs.models import User
from deskwatch.server.web.access import home_of
from deskwatch.server.web.pages import TEMPLATES, csrf_of, zone_of

log = logging.getLogger(__name__)

# status: (title, what to do)
ADVICE: dict[int, tuple[str, str]] = {
    400: ("That could not be done", "Go back, check what you asked for and try again."),
    401: ("Please sign in", "Sign in, then open the page again."),
    403: (
        "Not allowed",
        "Your role does not give access to this. Ask an administrator if you need it.",
    ),
    404: (
        "Not found",
        "It does not exist, or it is not yours to see. Check the link, or start from your home "
        "page.",
    ),
    410: ("No longer available", "It has been deleted under the retention rules."),
    413: ("Too large", "What you sent is too large. Send something smaller."),
    422: (
        "Please check what you entered",
        "Go back, correct the fields named below and send again.",
    ),
    429: ("Too many tries", "Wait a while before you try again."),
    500: (
        "Something went wrong on our side",
        "Nothing you did caused this. Try again in a minute; if it keeps happening, tell your "
        "administrator the time it happened.",
    ),
}


def wants_html(request: Request) -> bool:
    """A web page, not the API, the static files or the API's documents."""
    return not request.url.path.startswith(("/api/", "/static/"))


def error_page(
    request: Request,
    code: int,
    detail: str = "",
    details: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page for an HTTP error ``code``: its title and advice, and ``detail`` in words."""
    title, advice = ADVICE.get(code, ADVICE[500 if code >= 500 else 400])
    user = _user(request)
    home = home_of(user) if user is not None else "/login"
    context = {
        "user": user,
        "csrf": csrf_of(request),
        "teams": [],
        "zone": zone_of(request, user),
        "flashes": [],
        "code": code,
        "title": title,
        "advice": advice,
        "detail": detail,
        "details": details or [],
        "home": home,
    }
    reply: HTMLResponse = TEMPLATES.TemplateResponse(
        request, "error.html", context, status_code=code, headers=dict(headers or {})
    )
    return reply


def _user(request: Request) -> User | None:
    """The signed-in user, for the page's header; None if that cannot be known now."""
    try:
        return signed_in_detached(request)
    except Exception:  # an error page must render even when the database cannot answer
        log.exception("could not read the signed-in user for an error page")
        return None
