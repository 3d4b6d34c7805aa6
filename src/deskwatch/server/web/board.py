"""The live board: every visible agent's state, kept live by the board stream."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.status import service as status_service
from deskwatch.server.web.access import BoardPage
from deskwatch.server.web.pages import page
from deskwatch.server.web.schemas import Tile

router = APIRouter(include_in_schema=False)


@router.get("/")
def board_page(
    request: Request, user: BoardPage, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    rows = status_service.board_for(
        session, user=user, now=now, offline_after_s=settings.offline_after_s
    )
    return page(request, "board.html", user, session, tiles=[Tile.of(row) for row in rows])
