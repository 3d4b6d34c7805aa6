"""Request dependencies: the session, the calling device or user, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.auth.sessions import find_session, rotate, timeouts_of
from deskwatch.server.bounds import Day
from deskwatch.server.db import transaction
from deskwatch.server.devices.models import Device
from deskwatch.server.devices.tokens import DeviceIdentity, TokenCache
from deskwatch.server.errors import InvalidError
from deskwatch.server.live import Changes
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.policies.service import VersionCache
from deskwatch.server.security import same, token_hash
from deskwatch.server.settings import Settings
from deskwatch.server.status.buffer import HeartbeatBuffer

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    yield from transaction(request.app.state.sessions)


# Plain reads of app state: async, so FastAPI calls them inline instead of in a thread.
async def get_sessions(request: Request) -> sessionmaker[Session]:
    """For a route that opens its transaction itself, in the thread that runs it."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_now(request: Request) -> datetime:
    """The server's clock (replaceable in tests)."""
    now: datetime = request.app.state.clock()
    return now


def _app_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency that reads one of the runtime objects ``create_app`` keeps on the app."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    return get


# Function scope: the transaction commits before the response is sent, so a device is
# told "stored" only for what is stored (the default scope would commit afterwards).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# The change signals (``live.Changes``: publish once a transaction commits) and the caches.
ChangesDep = Annotated[Changes, Depends(_app_state("changes"))]
HeartbeatsDep = Annotated[HeartbeatBuffer, Depends(_app_state("heartbeats"))]
VersionsDep = Annotated[VersionCache, Depends(_app_state("policy_versions"))]
TokensDep = Annotated[TokenCache, Depends(_app_state("device_tokens"))]


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "device token required")
    return token


def current_device(request: Request, session: SessionDep) -> Device:
    """The device whose bearer token came with the request: 401 if none or bad, 403 revoked."""
    device = session.scalar(select(Device).where(Device.token_hash == token_hash(_bearer(request))))
    if device is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown device token")
    if device.revoked_at is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "device token revoked")
    return device


async def cached_device(
    request: Request, sessions: SessionsDep, now: NowDep, tokens: TokensDep
) -> DeviceIdentity:
    """Like ``current_device``, from the token cache when it holds the token (heartbeats).

    A miss is looked up in a short session of its own, so no connection is held while the
    request waits for a thread; its answer is cached unless a revocation was signalled
    meanwhile. A revocation signal that another worker missed is caught by the next bulk
    reload (``caches.CacheFiller``) or when the entry expires.
    """
    digest = token_hash(_bearer(request))
    device = tokens.get(digest, now=now)
    if device is None:
        before = tokens.forgotten
        device = await run_in_threadpool(_lookup, sessions, digest)
        tokens.put(digest, device, now=now, looked_up_at=before)
    return device


def _lookup(sessions: sessionmaker[Session], digest: str) -> DeviceIdentity:
    with sessions() as session:
        row = session.execute(
            select(Device.id, Device.agent_id, Device.revoked_at).where(Device.token_hash == digest)
        ).first()
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown device token")
    if row.revoked_at is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "device token revoked")
    return DeviceIdentity(row.id, row.agent_id)


def signed_in(
    request: Request, session: Session, *, now: datetime, settings: Settings
) -> User | None:
    """The active user of the request's server-side session, if it is live. A session opened
    under another role than the user's now gets a new token (the cookie follows)."""
    token = request.session.get("sid")
    if not isinstance(token, str):
        return None
    csrf = str(request.session.get("csrf", ""))
    row = find_session(session, token=token, csrf=csrf, now=now, timeouts=timeouts_of(settings))
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        request.session.pop("sid", None)
        return None
    if row.role != str(user.role):
        request.session["sid"] = rotate(session, row=row, role=str(user.role))
        session.commit()  # the cookie gets the new token whatever the request's outcome
    return user


def signed_in_detached(request: Request) -> User | None:
    """The signed-in user, read in a session of its own and detached from it: for a page
    rendered outside the request's dependencies (an error page)."""
    state = request.app.state
    with state.sessions() as session:
        user = signed_in(request, session, now=state.clock(), settings=state.settings)
        if user is not None:
            session.expunge(user)
        return user


def current_user(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep) -> User:
    """The logged-in user (session cookie); unsafe methods also need the CSRF token."""
    user = signed_in(request, session, now=now, settings=settings)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        expected = str(request.session.get("csrf", ""))
        if not expected or not same(sent, expected):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or bad CSRF token")
    return user


async def signed_in_id(
    request: Request, sessions: SessionsDep, now: NowDep, settings: SettingsDep
) -> int:
    """The signed-in user's id, checked in a short session of its own (for a stream that
    must not hold a connection while it runs): 401 if none."""

    def lookup() -> int | None:
        with sessions() as session:
            user = signed_in(request, session, now=now, settings=settings)
            session.commit()
            return user.id if user is not None else None

    user_id = await run_in_threadpool(lookup)
    if user_id is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required")
    return user_id


DeviceDep = Annotated[Device, Depends(current_device)]
CachedDeviceDep = Annotated[DeviceIdentity, Depends(cached_device)]
UserDep = Annotated[User, Depends(current_user)]
SignedInIdDep = Annotated[int, Depends(signed_in_id)]


def require(*roles: Role) -> Callable[[User], User]:
    """A dependency that admits only users with one of ``roles``."""

    def check(user: UserDep) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role")
        return user

    return check


AdminDep = Annotated[User, Depends(require(Role.ADMIN))]

OverseerDep = Annotated[User, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
PolicyReaderDep = Annotated[
    User, Depends(require(Role.ADMIN, Role.PRIVACY_OFFICER, Role.SUPERVISOR))
]
AuditReaderDep = Annotated[User, Depends(require(Role.ADMIN, Role.PRIVACY_OFFICER))]
AgentDep = Annotated[User, Depends(require(Role.AGENT))]
PrivacyOfficerDep = Annotated[User, Depends(require(Role.PRIVACY_OFFICER))]


def zone_param(
    tz: Annotated[
        str | None, Query(max_length=64, description="IANA time zone of the day; UTC if unset")
    ] = None,
) -> tzinfo:
    """``?tz=Europe/London``: the zone a ``?day=`` runs in (UTC by default; 422 if unknown)."""
    if not tz:
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidError("tz: not a time zone") from None  # a 422 with the field named


ZoneDep = Annotated[tzinfo, Depends(zone_param)]


def day_param(zone: ZoneDep, now: NowDep, day: Day | None = None) -> date:
    """``?day=YYYY-MM-DD``, today in ``?tz=`` (UTC) by default (a 422 outside ``bounds.Day``)."""
    return day or now.astimezone(zone).date()


DayDep = Annotated[date, Depends(day_param)]
