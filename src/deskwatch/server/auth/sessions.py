"""Server-side sessions: opened at login, looked up on each request, ended at logout, when
the user is switched off or changes their password, and after an idle or absolute timeout.

The cookie (signed by the session middleware) carries the random session token and the
CSRF token; the table keeps only their SHA-256 hashes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from deskwatch.server.auth.models import LoginSession
from deskwatch.server.orgs.models import User
from deskwatch.server.security import same, token_hash
from deskwatch.server.settings import Settings

# last_seen_at is written at most this often per session (not on every request).
TOUCH_EVERY_S = 60.0


@dataclass(frozen=True)
class Timeouts:
    """How long a session lives unused (``idle_s``) and at most (``max_s``)."""

    idle_s: float
    max_s: float


def timeouts_of(settings: Settings) -> Timeouts:
    return Timeouts(idle_s=settings.session_idle_s, max_s=settings.session_max_s)


@dataclass(frozen=True)
class Opened:
    """A new session's secrets, for the cookie only."""

    token: str
    csrf: str


def open_session(session: Session, *, user: User, now: datetime) -> Opened:
    """A new session for ``user`` with a fresh token and CSRF token."""
    opened = Opened(secrets.token_urlsafe(32), secrets.token_urlsafe(24))
    session.add(
        LoginSession(
            token_hash=token_hash(opened.token),
            user_id=user.id,
            role=str(user.role),
            csrf_hash=token_hash(opened.csrf),
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return opened


def find_session(
    session: Session, *, token: str, csrf: str, now: datetime, timeouts: Timeouts
) -> LoginSession | None:
    """The live session of ``token`` (with its CSRF token); an expired one is deleted."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    if row is None or not same(token_hash(csrf), row.csrf_hash):
        return None
    if _expired(row, now=now, timeouts=timeouts):
        session.delete(row)
        session.flush()
        return None
    if (now - row.last_seen_at).total_seconds() >= min(TOUCH_EVERY_S, timeouts.idle_s / 10):
        row.last_seen_at = now
    return row


def _expired(row: LoginSession, *, now: datetime, timeouts: Timeouts) -> bool:
    idle = (now - row.last_seen_at).total_seconds() > timeouts.idle_s
    return idle or (now - row.created_at).total_seconds() > timeouts.max_s


def rotate(session: Session, *, row: LoginSession, role: str) -> str:
    """A new token for a session whose user's role changed (its age is kept)."""
    token = secrets.token_urlsafe(32)
    row.token_hash, row.role = token_hash(token), role
    session.flush()
    return token


def end_session(session: Session, *, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))


def end_all(session: Session, *, user_id: int) -> int:
    """End every session of a user (switched off, new password); how many there were."""
    result = session.execute(
        delete(LoginSession)
        .where(LoginSession.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def end_expired(
    session: Session, *, now: datetime, timeouts: Timeouts, user_id: int | None = None
) -> int:
    """Forget sessions that timed out: a user's (at each of their logins), or everyone's
    (the scheduled purge). How many went."""
    idle_before = now - timedelta(seconds=timeouts.idle_s)
    born_before = now - timedelta(seconds=timeouts.max_s)
    stmt = delete(LoginSession).where(
        or_(LoginSession.last_seen_at < idle_before, LoginSession.created_at < born_before)
    )
    if user_id is not None:
        stmt = stmt.where(LoginSession.user_id == user_id)
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))
