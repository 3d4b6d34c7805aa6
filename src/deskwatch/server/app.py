"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.audit.routes import router as audit_router
from deskwatch.server.auth.routes import router as auth_router
from deskwatch.server.caches import CacheFiller
from deskwatch.server.db import make_engine, session_factory, utcnow
from deskwatch.server.devices.routes import router as devices_router
from deskwatch.server.devices.tokens import TokenCache
from deskwatch.server.errors import InvalidError, NotFoundError, RefusedError
from deskwatch.server.events.routes import router as events_router
from deskwatch.server.identity.routes import router as identity_router
from deskwatch.server.integrations.routes import router as integrations_router
from deskwatch.server.live import Changes
from deskwatch.server.migrate import upgrade
from deskwatch.server.openapi import documented_errors
from deskwatch.server.ops.routes import router as ops_router
from deskwatch.server.orgs.routes import router as orgs_router
from deskwatch.server.policies.routes import router as policies_router
from deskwatch.server.policies.service import VersionCache
from deskwatch.server.privacy.routes import router as privacy_router
from deskwatch.server.reports.routes import router as reports_router
from deskwatch.server.requests.routes import router as requests_router
from deskwatch.server.reviews.routes import router as reviews_router
from deskwatch.server.scheduled import deliverer, purger
from deskwatch.server.schedules.routes import router as schedules_router
from deskwatch.server.settings import Settings
from deskwatch.server.snapshots.routes import router as snapshots_router
from deskwatch.server.status.buffer import HeartbeatBuffer
from deskwatch.server.status.routes import router as status_router
from deskwatch.server.web.account import router as account_web_router
from deskwatch.server.web.admin import router as admin_web_router
from deskwatch.server.web.audit_page import router as audit_web_router
from deskwatch.server.web.board import router as board_web_router
from deskwatch.server.web.days import router as days_web_router
from deskwatch.server.web.docs import router as docs_web_router
from deskwatch.server.web.dpia import router as dpia_web_router
from deskwatch.server.web.errors import error_page, wants_html
from deskwatch.server.web.integrations import router as integrations_web_router
from deskwatch.server.web.pages import plain
from deskwatch.server.web.privacy_pages import router as privacy_web_router
from deskwatch.server.web.reviews import router as reviews_web_router
from deskwatch.server.web.routes import router as web_router
from deskwatch.server.web.schedules import router as schedules_web_router
from deskwatch.server.web.sso import router as sso_web_router

ROUTERS = (
    auth_router,
    devices_router,
    identity_router,
    events_router,
    status_router,
    policies_router,
    reports_router,
    audit_router,
    orgs_router,
    privacy_router,
    requests_router,
    reviews_router,
    snapshots_router,
    integrations_router,
    schedules_router,
    web_router,
    sso_web_router,
    board_web_router,
    days_web_router,
    reviews_web_router,
    audit_web_router,
    account_web_router,
    admin_web_router,
    privacy_web_router,
    dpia_web_router,
    integrations_web_router,
    schedules_web_router,
    docs_web_router,
    ops_router,
)
TOO_LARGE = "request body too large"
UNSTORABLE = "a value the database cannot store (a NUL character, or a number out of range)"
STATIC = Path(__file__).parent / "web" / "static"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@dataclass(frozen=True)
class Runtime:
    """What one server process keeps beside the database: change signals and caches."""

    changes: Changes
    heartbeats: HeartbeatBuffer
    versions: VersionCache
    tokens: TokenCache


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    clock: Callable[[], datetime] = utcnow,
    migrate: bool = True,
) -> FastAPI:
    """Build the app; without ``sessions`` it opens ``settings.database_url`` (and migrates it)."""
    engine = None
    audit = AuditChain.from_settings(settings)  # the audit key, read (or made) once
    if sessions is None:
        engine = make_engine(settings.database_url)
        if migrate:
            upgrade(engine, audit=audit)
        sessions = session_factory(engine)
    attach(sessions, audit)
    runtime = _runtime(settings, sessions, engine)
    app = FastAPI(
        lifespan=_lifespan(runtime),
        title="deskwatch",
        version="1",
        docs_url=None,  # Swagger UI from vendored files: web/docs.py
        openapi_url="/api/openapi.json",
    )
    app.state.settings, app.state.sessions, app.state.clock = settings, sessions, clock
    app.state.changes, app.state.heartbeats = runtime.changes, runtime.heartbeats
    app.state.device_tokens, app.state.policy_versions = runtime.tokens, runtime.versions
    _add_routes(app)
    app.openapi = documented_errors(app)  # type: ignore[method-assign]
    _add_error_handlers(app)
    _add_middleware(app, settings)
    return app


def _runtime(settings: Settings, sessions: sessionmaker[Session], engine: Engine | None) -> Runtime:
    changes = Changes(engine)
    heartbeats = HeartbeatBuffer(
        sessions,
        offline_after_s=settings.offline_after_s,
        flush_s=settings.heartbeat_flush_s,
        publish=changes.publish,
    )
    # An agent's team and privacy revision are reloaded in bulk (``CacheFiller``), not read
    # on its heartbeats, and forgotten at once when a change is signalled for the agent.
    versions = VersionCache(agent_ttl_s=settings.device_cache_ttl_s)
    tokens = TokenCache(settings.device_cache_ttl_s)
    changes.on_agent.extend([heartbeats.forget, versions.forget, tokens.forget_agent])
    return Runtime(changes, heartbeats, versions, tokens)


def _lifespan(runtime: Runtime) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.purger = purger(state.sessions, state.settings, lambda: state.clock()).start()
        state.deliverer = deliverer(state.sessions, state.settings, lambda: state.clock()).start()
        filler = CacheFiller(
            state.sessions,
            lambda: state.clock(),
            tokens=runtime.tokens,
            versions=runtime.versions,
            heartbeats=runtime.heartbeats,
            every_s=state.settings.cache_refresh_s,
        )
        filler.start()
        runtime.heartbeats.start()
        # What start-up made lives as long as the process (modules, caches): out of the
        # collector's way, so a full collection during a 10,000-row board walks far less.
        gc.freeze()
        yield
        filler.close()
        runtime.heartbeats.close()  # the last noted heartbeats are stored before the end
        state.purger.close()
        state.deliverer.close()
        runtime.changes.close()

    return lifespan


def _add_routes(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_key(),
        same_site="strict",
        https_only=settings.secure_cookies,
        session_cookie="deskwatch_session",
        max_age=int(settings.session_max_s),  # the server ends the session itself, too
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)


def _add_error_handlers(app: FastAPI) -> None:
    """JSON on the API; on web pages, an HTML page that says what happened (``web.errors``)."""
    app.add_exception_handler(NotFoundError, _status_of(404))
    app.add_exception_handler(RefusedError, _status_of(400))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(InvalidError, _invalid)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(Exception, _crashed)


def _status_of(code: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        if wants_html(request):
            return error_page(request, code, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handler


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    return error_page(request, exc.status_code, str(exc.detail), headers=exc.headers)


def _fields(request: Request, errors: list[dict[str, str]]) -> Response:
    if wants_html(request):
        lines = [f"{e['field'].replace('_', ' ')}: {e['msg']}".lstrip(": ") for e in errors]
        return error_page(request, 422, details=lines)
    return JSONResponse({"detail": errors}, status_code=422)


async def _invalid(request: Request, exc: Exception) -> Response:
    field, _, msg = str(exc).partition(": ")
    return _fields(request, [{"field": field, "msg": msg or str(exc)}])


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_html(request):
        return error_page(request, 422, details=[plain(e) for e in exc.errors()])
    return _fields(request, [_field_error(e) for e in exc.errors()])


async def _unstorable(request: Request, exc: Exception) -> Response:
    # The last line of defence: what the edge let through but the database cannot hold
    # (a NUL character in text on PostgreSQL, a number out of its range) is a 422; the
    # request's transaction has been rolled back.
    return _fields(request, [{"field": "", "msg": UNSTORABLE}])


async def _crashed(request: Request, exc: Exception) -> Response:
    if wants_html(request):
        return error_page(request, 500)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def _field_error(error: Any) -> dict[str, str]:
    """``{"field": "events.3.peak_confidence", "msg": ...}`` from pydantic's error."""
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    return {"field": ".".join(loc), "msg": str(error.get("msg", "invalid"))}


class BodyLimit:
    """413 for request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _BodyTooLargeError()
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLargeError:
            await _too_large(send)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.raw = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.raw]
            await send(message)

        await self.app(scope, receive, with_headers)


class _BodyTooLargeError(HTTPException):
    """Raised from the body's ``receive``: an HTTP error, so FastAPI's body reader passes it
    on as it is (any other error there becomes a 400) and the app answers 413."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE)


async def _too_large(send: Send) -> None:
    response = JSONResponse({"detail": TOO_LARGE}, status_code=413)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` worker processes: settings from the environment; the parent
    process has already migrated the database and made the signing key."""
    from deskwatch.server.settings import get_settings

    return create_app(get_settings(), migrate=False)
