"""The review queue: events that need a person's decision before they count."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from deskwatch.server.deps import NowDep, SessionDep
from deskwatch.server.reviews import service as reviews
from deskwatch.server.reviews.schemas import ReviewIn
from deskwatch.server.web.access import OverseerPage
from deskwatch.server.web.pages import Csrf, outcome, page

router = APIRouter(include_in_schema=False)


@router.get("/reviews")
def reviews_page(
    request: Request, user: OverseerPage, session: SessionDep, now: NowDep
) -> HTMLResponse:
    items = reviews.queue(session, user=user, now=now)
    return page(request, "reviews.html", user, session, items=items)


@router.post("/reviews/{event_id}", dependencies=[Csrf])
def review_form(
    event_id: str,
    request: Request,
    user: OverseerPage,
    session: SessionDep,
    now: NowDep,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return outcome(
        request,
        session,
        "/reviews",
        lambda: reviews.review(
            session,
            reviewer=user,
            event_id=event_id,
            decision=ReviewIn(decision=decision, note=note),
            now=now,
        ),
        f"Event {decision}.",
        "Not recorded",
    )
