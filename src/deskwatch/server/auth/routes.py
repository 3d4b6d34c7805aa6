"""Login and logout (session cookie + CSRF token)."""

from __future__ import annotations

import secrets
from datetime import datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from deskwatch.server.audit.service import record
from deskwatch.server.auth.schemas import Login, Me
from deskwatch.server.auth.service import LoginOutcome, check_login
from deskwatch.server.deps import NowDep, SessionDep, UserDep
from deskwatch.server.orgs.models import User

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


def log_in(
    request: Request, session: SessionDep, username: str, password: str, now: datetime
) -> LoginOutcome:
    """Check the password (throttled per account); on success a fresh session with a new
    CSRF token, and the login is audited. A failure is recorded in ``session``: the caller
    answers without raising, so that record commits."""
    outcome = check_login(session, username=username, password=password, now=now)
    if outcome.user is not None:
        request.session.clear()
        request.session.update(user_id=outcome.user.id, csrf=secrets.token_urlsafe(24))
        user_id = outcome.user.id
        record(session, actor=outcome.user, action="login", subject=f"user:{user_id}", now=now)
    return outcome


@router.post("/login", response_model=Me, responses={401: {}, 429: {}})
def login(body: Login, request: Request, session: SessionDep, now: NowDep) -> Me | JSONResponse:
    """401 for a wrong username or password; 429 once the account is locked for a while."""
    outcome = log_in(request, session, body.username, body.password, now)
    if outcome.user is None:
        code = status.HTTP_429_TOO_MANY_REQUESTS if outcome.locked else status.HTTP_401_UNAUTHORIZED
        return JSONResponse({"detail": outcome.refusal}, status_code=code)
    return me_of(outcome.user, request.session["csrf"])


@router.post("/logout", status_code=204)
def logout(request: Request, user: UserDep) -> None:
    request.session.clear()


@router.get("/me")
def me(request: Request, user: UserDep) -> Me:
    return me_of(user, request.session["csrf"])
