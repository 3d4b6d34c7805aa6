"""Password logins, throttled per account: failures are kept in the audit log (which
account, when; the worker sees them in My data), and too many in a short time lock that
account's logins for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deskwatch.server.audit.chain import chain_of
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.service import record
from deskwatch.server.db import serialise
from deskwatch.server.orgs.models import User
from deskwatch.server.security import verify_password

FAILED = "auth:login_failed"
MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginOutcome:
    """The user on success; else why not, in words fit to show the person at the keyboard."""

    user: User | None
    refusal: str = ""
    locked: bool = False


def check_login(session: Session, *, username: str, password: str, now: datetime) -> LoginOutcome:
    """Check a password; a failure is recorded in ``session`` (the caller commits it).

    After ``MAX_FAILURES`` failures within ``WINDOW`` the account is locked until the oldest
    of them leaves the window, a right password included. Unknown usernames are counted
    too, so a locked account and an unknown one look the same from outside; they are kept
    only as a keyed hash (people type passwords into the username field).
    """
    user = session.scalar(select(User).where(User.username == username))
    subject = f"user:{user.id}" if user else f"login:{chain_of(session).mac(username.encode())}"
    serialise(session, f"deskwatch_{subject}")  # parallel guesses are counted one by one
    if _failures(session, subject=subject, now=now) >= MAX_FAILURES:
        return LoginOutcome(None, "Too many failed logins: try again in 15 minutes.", True)
    if user is not None and user.active and verify_password(user.password_hash, password):
        return LoginOutcome(user)
    record(session, actor=None, action=FAILED, subject=subject, now=now)
    return LoginOutcome(None, "Wrong username or password.")


def _failures(session: Session, *, subject: str, now: datetime) -> int:
    query = select(func.count(AuditEntry.id)).where(
        AuditEntry.subject == subject, AuditEntry.action == FAILED, AuditEntry.at > now - WINDOW
    )
    return int(session.scalar(query) or 0)
