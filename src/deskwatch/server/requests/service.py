"""Data-subject requests: made by workers, handled by the privacy officer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.errors import NotFoundError, RefusedError
from deskwatch.server.orgs.models import User
from deskwatch.server.requests.models import DataRequest
from deskwatch.server.requests.schemas import RequestIn, RequestUpdate


def create_request(session: Session, *, agent: User, body: RequestIn, now: datetime) -> DataRequest:
    row = DataRequest(
        agent_id=agent.id,
        kind=body.kind,
        body=body.body,
        status="open",
        response="",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=agent,
        action=f"request:{body.kind}",
        subject=f"agent:{agent.id}",
        now=now,
        detail={"request": row.id},
    )
    return row


def requests_of(session: Session, *, agent_id: int | None = None) -> list[DataRequest]:
    """One worker's requests, or (None) the privacy officer's whole queue."""
    query = select(DataRequest).order_by(DataRequest.id.desc())
    if agent_id is not None:
        query = query.where(DataRequest.agent_id == agent_id)
    return list(session.scalars(query))


def request_queue(session: Session, *, officer: User, now: datetime) -> list[DataRequest]:
    """Every request, for the privacy officer; each listed worker sees the read in My data."""
    rows = requests_of(session)
    for agent_id in sorted({r.agent_id for r in rows}):
        record(session, actor=officer, action="read:requests", subject=f"agent:{agent_id}", now=now)
    return rows


def move_request(
    session: Session, *, request_id: int, change: RequestUpdate, officer: User, now: datetime
) -> DataRequest:
    """Move a request on; ``flows.update_request`` erases (for a done erasure) and audits."""
    row = session.get(DataRequest, request_id)
    if row is None:
        raise NotFoundError(f"no request {request_id}")
    if row.status in ("done", "refused"):
        raise RefusedError(f"request {request_id} is already {row.status}")
    row.status, row.response = change.status, change.response
    row.handled_by, row.updated_at = officer.id, now
    return row


def record_move(
    session: Session, *, row: DataRequest, officer: User, now: datetime, detail: dict[str, int]
) -> None:
    record(
        session,
        actor=officer,
        action=f"request:{row.status}",
        subject=f"agent:{row.agent_id}",
        now=now,
        detail={"request": row.id, **detail},
    )
