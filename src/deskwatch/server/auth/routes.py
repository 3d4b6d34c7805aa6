"""Login and logout (session cookie + CSRF token)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from deskwatch.server.audit.service import record
from deskwatch.server.auth.security import verify_password
from deskwatch.server.deps import NowDep, SessionDep, UserDep
from deskwatch.server.orgs.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    password: str


class Me(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    csrf_token: str


def me_of(user: User, csrf: str) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        team_id=user.team_id,
        csrf_token=csrf,
    )


def log_in(request: Request, session: SessionDep, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    request.session.clear()
    request.session.update(user_id=user.id, csrf=secrets.token_urlsafe(24))
    return user


@router.post("/login")
def login(body: Login, request: Request, session: SessionDep, now: NowDep) -> Me:
    user = log_in(request, session, body.username, body.password)
    record(session, actor=user, action="login", subject=f"user:{user.id}", now=now)
    return me_of(user, request.session["csrf"])


@router.post("/logout", status_code=204)
def logout(request: Request, user: UserDep) -> None:
    request.session.clear()


@router.get("/me")
def me(request: Request, user: UserDep) -> Me:
    return me_of(user, request.session["csrf"])
