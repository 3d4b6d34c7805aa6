"""``/healthz`` (the process answers), ``/readyz`` (so does its database, migrated) and
``/metrics`` (Prometheus; off unless ``metrics_enabled``, then behind a bearer token)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response

from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.ops import metrics
from deskwatch.server.ops.schemas import Health, Readiness
from deskwatch.server.ops.service import agents_by_state, not_ready
from deskwatch.server.security import same

router = APIRouter(tags=["operations"], include_in_schema=False)
AGENTS = "deskwatch_agents"
AGENTS_HELP = "Agents who may sign in, by board status now (offline: no recent heartbeat)"


@router.get("/healthz")
async def healthz() -> Health:
    """The process is alive (touches nothing else)."""
    return Health()


@router.get("/readyz", responses={503: {"model": Readiness}})
def readyz(session: SessionDep) -> Response:
    """The database answers and is at this server's newest migration; 503 saying why not."""
    reason = not_ready(session)
    if reason is not None:
        body = Readiness(status="not ready", reason=reason)
        return JSONResponse(body.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse(Readiness(status="ready").model_dump(exclude_none=True))


def _authorised(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and same(given.strip(), token)


@router.get("/metrics")
def scrape(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> Response:
    """Counts and timings of every worker plus agents by status, computed now."""
    if not settings.metrics_enabled:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    if not _authorised(request, settings.metrics_token):
        return JSONResponse(  # for a scraper, not a person: no error page
            {"detail": "a bearer token is needed"},
            status_code=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    states = agents_by_state(session, now=now, offline_after_s=settings.offline_after_s)
    extra = metrics.gauge_lines(AGENTS, AGENTS_HELP, "state", states)
    return Response(metrics.exposition(extra), media_type=metrics.CONTENT_TYPE)
