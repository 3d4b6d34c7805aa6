"""The live board: every visible agent's state by team, kept live by the board stream."""

from __future__ import annotations

from collections import Counter
from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.responses import Response

from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.status import service as status_service
from deskwatch.server.status.schemas import STATUSES
from deskwatch.server.web.access import BoardPage
from deskwatch.server.web.pages import page, zone_of
from deskwatch.server.web.schemas import sections

router = APIRouter(include_in_schema=False)


@router.get("/")
def board_page(
    request: Request, user: BoardPage, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    rows = status_service.board_for(
        session,
        user=user,
        now=now,
        offline_after_s=settings.offline_after_s,
        long_absence_s=settings.board_long_absence_s,
    )
    zone = zone_of(request, user)
    teams = sections(rows, now=now, zone=UTC if zone.key == "UTC" else zone)
    tally = Counter(row["status"] for row in rows)
    return page(
        request,
        "board.html",
        user,
        session,
        sections=teams,
        total=len(rows),
        tally=[(s, tally[s]) for s in STATUSES],
        now_s=int(now.timestamp()),
        long_after_s=settings.board_long_absence_s,
    )
