"""Login and logout (server-side session, its token and CSRF token in a signed cookie)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from deskwatch.server.audit.service import record
from deskwatch.server.auth.oidc import local_off
from deskwatch.server.auth.schemas import Login, Me, PasswordChange
from deskwatch.server.auth.service import LoginOutcome, check_login
from deskwatch.server.auth.sessions import end_expired, end_session, open_session, timeouts_of
from deskwatch.server.deps import NowDep, SessionDep, SettingsDep, UserDep
from deskwatch.server.errors import RefusedError
from deskwatch.server.flows import change_password
from deskwatch.server.orgs.models import User
from deskwatch.server.security import verify_password
from deskwatch.server.settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def me_of(user: User, csrf: str) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        team_id=user.team_id,
        csrf_token=csrf,
    )


def source_of(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: its forwarded one, when
    uvicorn is told to trust the proxy's headers)."""
    return request.client.host if request.client else "unknown"


def start_session(request: Request, session: SessionDep, user: User, now: datetime) -> None:
    """A new server-side session (new token, new CSRF token) in the cookie; the cookie's
    previous session, if any, ends."""
    log_out(request, session)
    opened = open_session(session, user=user, now=now)
    request.session.update(sid=opened.token, csrf=opened.csrf)


def log_out(request: Request, session: SessionDep) -> None:
    token = request.session.get("sid")
    if isinstance(token, str):
        end_session(session, token=token)
    request.session.clear()


def log_in(
    request: Request,
    session: SessionDep,
    username: str,
    password: str,
    now: datetime,
    settings: Settings,
) -> LoginOutcome:
    """Check the password (throttled per source); on success a fresh session with a new
    CSRF token, and the login is audited. A failure is recorded in ``session``: the caller
    answers without raising, so that record commits."""
    source = source_of(request)
    outcome = check_login(session, username=username, password=password, source=source, now=now)
    if outcome.user is not None:
        user = outcome.user
        end_expired(session, now=now, timeouts=timeouts_of(settings), user_id=user.id)
        start_session(request, session, user, now)
        record(session, actor=user, action="login", subject=f"user:{user.id}", now=now)
    return outcome


def refused(outcome: LoginOutcome) -> JSONResponse:
    """401 for a wrong username or password; 429 (with Retry-After) while throttled."""
    if outcome.locked:
        headers = {"retry-after": str(outcome.retry_after_s)}
        code = status.HTTP_429_TOO_MANY_REQUESTS
        return JSONResponse({"detail": outcome.refusal}, status_code=code, headers=headers)
    return JSONResponse({"detail": outcome.refusal}, status_code=status.HTTP_401_UNAUTHORIZED)


@router.post("/login", response_model=Me, responses={401: {}, 403: {}, 429: {}})
def login(
    body: Login, request: Request, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Me | JSONResponse:
    """401 for a wrong username or password; 429 while this source is throttled; 403 when
    password logins are switched off (single sign-on only)."""
    if not settings.local_login:
        return JSONResponse({"detail": local_off(settings)}, status_code=status.HTTP_403_FORBIDDEN)
    outcome = log_in(request, session, body.username, body.password, now, settings)
    if outcome.user is None:
        return refused(outcome)
    return me_of(outcome.user, request.session["csrf"])


@router.post("/logout", status_code=204)
def logout(request: Request, session: SessionDep, user: UserDep) -> None:
    """Ends this session on the server: a copy of the cookie no longer works."""
    log_out(request, session)


@router.post("/password")
def password(
    body: PasswordChange, request: Request, user: UserDep, session: SessionDep, now: NowDep
) -> Me:
    """A new password: every session of the user ends, this one continues under a new
    token. 400 if the current password is wrong."""
    if not verify_password(user.password_hash, body.current_password):
        raise RefusedError("the current password is wrong")
    change_password(session, user=user, password=body.new_password, now=now)
    request.session.clear()  # its session ended with the others
    start_session(request, session, user, now)
    return me_of(user, request.session["csrf"])


@router.get("/me")
def me(request: Request, user: UserDep) -> Me:
    return me_of(user, request.session["csrf"])
