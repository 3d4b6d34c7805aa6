"""The review queue: events that need a person's decision before they count.

Filters are the page's query (``agent_id``, ``type``, ``state``, ``since`` / ``until`` as
days in the reader's time zone, ``page``); each event comes with its evidence in words, its
detectors and their measured precision, the agent's timeline around it and its blurred
still. Events are decided one by one or several at once, each recorded as its own review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field, ValidationError

from deskwatch.events.event import EVENT_TYPES
from deskwatch.server.deps import NowDep, SessionDep, SettingsDep
from deskwatch.server.orgs.service import visible_agents
from deskwatch.server.reviews import service as reviews
from deskwatch.server.reviews.schemas import (
    EVENT_ID_LENGTH,
    MAX_BULK,
    NOTE_LENGTH,
    REVIEW_STATES,
    BulkReviewIn,
    QueueItem,
    QueueQuery,
    ReviewIn,
)
from deskwatch.server.web.access import OverseerPage
from deskwatch.server.web.pages import Csrf, back, outcome, page, zone_of

router = APIRouter(include_in_schema=False)
BAR_WIDTH = 1000  # the timeline's SVG units across


class PageQuery(QueueQuery):
    """The page shows fewer events at a time than the API."""

    per_page: int = Field(default=20, ge=1, le=MAX_BULK)


@dataclass(frozen=True, slots=True)
class Bar:
    """One stretch of an event's timeline, in SVG units."""

    x: float
    width: float
    status: str
    label: str


def bars(item: QueueItem) -> tuple[list[Bar], Bar | None]:
    """The timeline's status stretches and the event's own stretch on it."""
    ctx = item.context
    if ctx is None or ctx.end <= ctx.start:
        return [], None
    whole = (ctx.end - ctx.start).total_seconds()

    def place(start_s: float, end_s: float, status: str, label: str) -> Bar:
        x = max(0.0, min(start_s, whole)) / whole * BAR_WIDTH
        right = max(0.0, min(end_s, whole)) / whole * BAR_WIDTH
        return Bar(round(x, 1), round(max(right - x, 2.0), 1), status, label)

    spans = [
        place(
            (s.start - ctx.start).total_seconds(),
            (s.end - ctx.start).total_seconds(),
            s.status,
            s.status.replace("_", " "),
        )
        for s in ctx.spans
    ]
    e = item.event
    start = (e.started_at - ctx.start).total_seconds()
    length = e.duration_s if e.duration_s is not None else whole - start
    return spans, place(start, start + length, "event", e.type.replace("_", " "))


def _query_string(text: str) -> str:
    """A queue's query string, kept only if it is a valid filter (for going back to it)."""
    if len(text) > 500:
        return ""
    pairs = parse_qsl(text)
    try:
        PageQuery.model_validate(dict(pairs))
    except ValidationError:
        return ""
    return urlencode(pairs)


def _back_to(query: str) -> str:
    kept = _query_string(query)
    return f"/reviews?{kept}" if kept else "/reviews"


def _page_url(query: PageQuery, number: int) -> str:
    values = query.model_dump(exclude_defaults=True, exclude={"page"})
    if number:
        values["page"] = number
    pairs = {k: str(v) for k, v in values.items() if v is not None}
    return "/reviews?" + urlencode(pairs) if pairs else "/reviews"


@router.get("/reviews")
def reviews_page(
    request: Request,
    user: OverseerPage,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    query: Annotated[PageQuery, Query()],
) -> HTMLResponse:
    filters = query.filter(zone_of(request, user))
    queue = reviews.queue_page(
        session, user=user, now=now, filters=filters, offline_after_s=settings.offline_after_s
    )
    agents = [a for a in visible_agents(session, user=user) if a.id != user.id]
    return page(
        request,
        "reviews.html",
        user,
        session,
        queue=queue,
        items=queue.items,
        query=query,
        agents=agents,
        event_types=EVENT_TYPES,
        states=REVIEW_STATES,
        decidable=query.state in ("pending", "disputed"),
        bars=bars,
        here=_query_string(request.url.query),  # where a decision comes back to
        previous=_page_url(query, query.page - 1) if query.page > 0 else None,
        next=_page_url(query, query.page + 1) if query.page + 1 < queue.pages else None,
    )


@router.post("/reviews", dependencies=[Csrf])
def bulk_form(
    request: Request,
    user: OverseerPage,
    session: SessionDep,
    now: NowDep,
    decision: Annotated[str, Form(max_length=20)],
    event_id: Annotated[list[str], Form(max_length=MAX_BULK)] = [],  # noqa: B006
    note: Annotated[str, Form(max_length=NOTE_LENGTH)] = "",
    query: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """One decision for the selected events: all are recorded, or none."""
    path = _back_to(query)
    if not event_id:
        return back(request, path, "Not recorded: select at least one event.", error=True)
    if any(len(i) > EVENT_ID_LENGTH for i in event_id):
        return back(request, path, "Not recorded: no such event", error=True)
    count = len(set(event_id))
    return outcome(
        request,
        session,
        path,
        lambda: reviews.review_many(
            session,
            reviewer=user,
            decision=BulkReviewIn(decision=decision, note=note, event_ids=event_id),
            now=now,
        ),
        f"{count} event{'' if count == 1 else 's'} {decision}.",
        "Not recorded",
    )


@router.post("/reviews/{event_id}", dependencies=[Csrf])
def review_form(
    event_id: str,
    request: Request,
    user: OverseerPage,
    session: SessionDep,
    now: NowDep,
    decision: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=NOTE_LENGTH)] = "",
    query: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return outcome(
        request,
        session,
        _back_to(query),
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
