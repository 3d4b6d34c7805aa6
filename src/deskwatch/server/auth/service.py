"""Password logins, throttled by source address, and by source address with the account
typed, with delays that grow with each failure in a row. Never by account alone: a
stranger's bad tries cannot keep the account's owner (an admin, say) out from elsewhere.

Failures are also kept in the audit log (which account, when; the worker sees them in My
data). An unknown username costs the same password check as a known one, so the time of
the answer does not tell which usernames exist."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from deskwatch.server.audit.chain import chain_of
from deskwatch.server.audit.service import record
from deskwatch.server.auth.models import LoginThrottle
from deskwatch.server.db import serialise
from deskwatch.server.orgs.models import User
from deskwatch.server.security import hash_password, verify_password

FAILED = "auth:login_failed"
# Failures in a row allowed without delay; then each doubles the wait, up to MAX_DELAY_S.
FREE_PER_ACCOUNT = 5  # from one address, for one typed username
FREE_PER_ADDRESS = 30  # from one address, any usernames
MAX_DELAY_S = 15 * 60.0
FORGET_AFTER = timedelta(hours=1)  # a row of failures this old starts again from zero


@dataclass(frozen=True)
class LoginOutcome:
    """The user on success; else why not, in words fit to show the person at the keyboard."""

    user: User | None
    refusal: str = ""
    locked: bool = False
    retry_after_s: int = 0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check unknown usernames' passwords against (same cost as a real one)."""
    return hash_password(secrets.token_urlsafe(16))


def delay_s(failures: int, *, free: int) -> float:
    """The wait after ``failures`` in a row: none for the first ``free``, then 1 s, 2 s, 4 s..."""
    if failures < free:
        return 0.0
    return min(MAX_DELAY_S, 2.0 ** min(failures - free, 32))


def check_login(
    session: Session, *, username: str, password: str, source: str, now: datetime
) -> LoginOutcome:
    """Check a password from ``source`` (the client's address); a failure is recorded in
    ``session`` (the caller commits it). A throttled source is answered before the
    password is checked, and that try is not counted."""
    mac = chain_of(session).mac
    keys = (
        (mac(f"address:{source}".encode()), FREE_PER_ADDRESS),
        (mac(f"account:{source}\0{username}".encode()), FREE_PER_ACCOUNT),
    )
    for key, _ in keys:
        serialise(session, f"deskwatch_login_{key}")  # parallel guesses are counted one by one
    rows = [(_throttle(session, key=key, now=now), free) for key, free in keys]
    wait = max(_wait_s(row, free=free, now=now) for row, free in rows)
    if wait > 0:
        words = f"Too many failed logins: try again in {math.ceil(wait)} s."
        return LoginOutcome(None, words, True, math.ceil(wait))
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is not None and user.active and ok:
        rows[1][0].failures = 0  # this address and account start again; the address does not
        return LoginOutcome(user)
    for row, _ in rows:
        row.failures, row.last_failed_at = row.failures + 1, now
    subject = f"user:{user.id}" if user else f"login:{mac(username.encode())}"
    record(session, actor=None, action=FAILED, subject=subject, now=now)
    return LoginOutcome(None, "Wrong username or password.")


def _throttle(session: Session, *, key: str, now: datetime) -> LoginThrottle:
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, last_failed_at=now)
        session.add(row)
    elif now - row.last_failed_at > FORGET_AFTER:
        row.failures = 0
    return row


def _wait_s(row: LoginThrottle, *, free: int, now: datetime) -> float:
    until = row.last_failed_at + timedelta(seconds=delay_s(row.failures, free=free))
    return max(0.0, (until - now).total_seconds())


def forget_throttles(session: Session, *, now: datetime) -> int:
    """Delete the rows of sources whose last failure is older than ``FORGET_AFTER``."""
    stmt = delete(LoginThrottle).where(LoginThrottle.last_failed_at < now - FORGET_AFTER)
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0))
