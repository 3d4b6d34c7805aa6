"""What every page shares: the templates and their filters, CSRF, the signed-in user's time
zone, and flash messages carried by the session (never by the URL)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.rules.camera import cause_words
from deskwatch.server.errors import InvalidError, NotFoundError, RefusedError
from deskwatch.server.orgs import service as orgs
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.reviews.evidence import duration as duration  # a filter, re-exported
from deskwatch.server.security import same
from deskwatch.server.status.schemas import STATUSES

TZ_COOKIE = "deskwatch_tz"  # the browser's own zone, set by /static/tz.js
USER_ERRORS = (InvalidError, NotFoundError, RefusedError, ValueError)
FIELD_NAMES = {"day": "date", "team_id": "team", "agent_id": "agent", "toml": "policy"}
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
T = TypeVar("T")


def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name`` (``Europe/London``), or None for an unknown or empty name."""
    if not name or len(name) > 64 or name not in zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def zone_names() -> frozenset[str]:
    """Every IANA zone this machine knows (read once)."""
    return frozenset(available_timezones() | {"UTC"})


def zone_of(request: Request, user: User | None) -> ZoneInfo:
    """The user's chosen zone, else the browser's, else UTC."""
    chosen = zone_named(user.time_zone) if user is not None else None
    browser = unquote(request.cookies.get(TZ_COOKIE, ""))  # tz.js writes it URL-encoded
    return chosen or zone_named(browser) or ZoneInfo("UTC")


@pass_context
def local(ctx: Context, at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time in the page's time zone."""
    if at is None:
        return ""
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.astimezone(ctx.get("zone") or UTC).strftime(fmt)


@pass_context
def clock(ctx: Context, at: datetime | None) -> str:
    return local(ctx, at, "%H:%M:%S")


def words(key: str) -> str:
    """``camera_obstructed`` → ``camera obstructed``."""
    return key.replace("_", " ")


TEMPLATES.env.globals["statuses"] = STATUSES
TEMPLATES.env.globals["camera_causes"] = cause_words  # a camera event's causes, in words
TEMPLATES.env.filters.update(duration=duration, local=local, clock=clock, words=words)


def plain(error: dict[str, Any] | Any) -> str:
    """One pydantic error in words: ``username: should have at most 100 characters``."""
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
    field = FIELD_NAMES.get(".".join(loc), ".".join(loc).replace("_", " "))
    msg = str(error.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    msg = msg[:1].lower() + msg[1:]
    return f"{field}: {msg}" if field else msg


def plain_exception(exc: Exception) -> str:
    """An error raised by a service or a schema, in words (no pydantic URLs)."""
    if isinstance(exc, ValidationError):
        return "; ".join(plain(e) for e in exc.errors())
    return str(exc)


def csrf_of(request: Request) -> str:
    """The session's CSRF token, created for anonymous visitors too (login form)."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return str(request.session["csrf"])


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    expected = str(request.session.get("csrf", ""))
    if not expected or not same(csrf_token, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or bad CSRF token")


Csrf = Depends(check_csrf)


def flash(request: Request, text: str, *, error: bool = False) -> None:
    """A message for the next page this session opens (shown once)."""
    notes = list(request.session.get("flash", []))[-4:]
    request.session["flash"] = [*notes, {"text": text, "error": error}]


def back(request: Request, path: str, text: str, *, error: bool = False) -> Response:
    """Post/redirect/get: go to ``path`` and say there how it went."""
    flash(request, text, error=error)
    return RedirectResponse(path, status_code=303)


def outcome(
    request: Request,
    session: Session,
    path: str,
    action: Callable[[], T],
    done: str | Callable[[T], str],
    failed: str,
) -> Response:
    """Run a form's action and go back to ``path`` saying how it went, in plain words
    (``done``, or what ``done`` says of the action's result). A refused action is rolled
    back: nothing it did before refusing is committed."""
    try:
        result = action()
    except USER_ERRORS as exc:
        session.rollback()
        return back(request, path, f"{failed}: {plain_exception(exc)}", error=True)
    return back(request, path, done if isinstance(done, str) else done(result))


def page(
    request: Request,
    name: str,
    user: User | None,
    session: Session,
    status_code: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    """Render ``name`` for ``user``: the nav's teams, the CSRF token, the time zone and any
    flash messages come with every page."""
    teams: list[Team] = []
    if user is not None and user.role in orgs.OVERSEERS:
        ids = orgs.visible_team_ids(session, user=user)
        teams = list(session.scalars(select(Team).where(Team.id.in_(ids)).order_by(Team.name)))
    context = {
        "user": user,
        "csrf": csrf_of(request),
        "teams": teams,
        "zone": zone_of(request, user),
        "flashes": request.session.pop("flash", []),
        **ctx,
    }
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
