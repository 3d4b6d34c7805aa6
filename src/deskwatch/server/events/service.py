"""Idempotent batch ingest and event queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.orm import Session

from deskwatch.privacy.categories import REVIEWED_TYPES
from deskwatch.server.devices.models import Device
from deskwatch.server.errors import InvalidError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import DeviceEvent, IngestResult
from deskwatch.server.privacy.service import off_types

# How far back the events reaching into a day are looked for: events last minutes, and one
# still open a day after it started is not drawn across the next day.
OVERLAP_LOOKBACK = timedelta(days=1)


def ingest(
    session: Session,
    *,
    device: Device,
    events: Sequence[DeviceEvent],
    now: datetime,
    future_skew_s: float,
) -> IngestResult:
    """Store new events, complete ones whose end arrived later; count re-sends once. Events
    of a category that is off for the agent (team setting or objection) are dropped."""
    _refuse_future(events, now, future_skew_s)
    off = off_types(session, agent_id=device.agent_id)
    kept = [e for e in events if e.type not in off] if off else events
    latest = {str(e.id): e for e in kept}  # a batch may carry a start and its end
    known = select(EventRecord.id, EventRecord.agent_id, EventRecord.end_s)
    existing = {
        key: (agent, end)
        for key, agent, end in session.execute(known.where(EventRecord.id.in_(latest)))
    }
    rows, ends = [], []
    for key, event in latest.items():
        if key not in existing:
            rows.append(_row(device, event, now))
        elif existing[key] == (device.agent_id, None) and event.end_s is not None:
            ends.append(key)
    if rows:  # Core, not the ORM's bulk path: the common batch is all new
        session.connection().execute(insert(EventRecord), rows)
    updated = sum(_apply_end(row, latest[row.id], now) for row in _rows(session, ends))
    duplicates = len(kept) - len(rows) - updated
    dropped = len(events) - len(kept)
    return IngestResult(new=len(rows), duplicates=duplicates, updated=updated, dropped=dropped)


def _refuse_future(events: Sequence[DeviceEvent], now: datetime, skew_s: float) -> None:
    limit = now + timedelta(seconds=skew_s)
    for i, event in enumerate(events):
        if event.started_at is not None and event.started_at > limit:
            raise InvalidError(f"events.{i}.started_at: more than {skew_s:.0f} s in the future")


def _row(device: Device, event: DeviceEvent, now: datetime) -> dict[str, object]:
    return {
        "id": str(event.id),
        "agent_id": device.agent_id,
        "device_id": device.id,
        "type": event.type,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "start_s": event.start_s,
        "end_s": event.end_s,
        "peak_confidence": event.peak_confidence,
        "evidence": dict(event.evidence),
        "received_at": now,
        "updated_at": now,
        "review": "pending" if event.type in REVIEWED_TYPES else "none",
        "disputed": False,
        "review_note": "",
    }


def _rows(session: Session, ids: list[str]) -> Sequence[EventRecord]:
    if not ids:
        return []
    return session.scalars(select(EventRecord).where(EventRecord.id.in_(ids))).all()


def _apply_end(row: EventRecord, event: DeviceEvent, now: datetime) -> bool:
    """An end (or a higher peak) that the stored copy lacks; False for a plain re-send."""
    if event.end_s is None or row.end_s is not None:
        return False
    row.end_s, row.ended_at = event.end_s, event.ended_at
    row.peak_confidence = max(row.peak_confidence, event.peak_confidence)
    row.evidence = dict(event.evidence)
    row.updated_at = now
    return True


def events_between(
    session: Session, *, agent_ids: Sequence[int], start: datetime, end: datetime
) -> list[EventRecord]:
    """The events that started in ``[start, end)`` (a day's own events, counted once)."""
    return _events(session, agent_ids, EventRecord.started_at >= start, end)


def events_overlapping(
    session: Session, *, agent_ids: Sequence[int], start: datetime, end: datetime
) -> list[EventRecord]:
    """The events that started in ``[start, end)`` and those that started up to
    ``OVERLAP_LOOKBACK`` earlier and were still open at ``start`` (e.g. across midnight)."""
    reaching_in = and_(
        EventRecord.started_at >= start - OVERLAP_LOOKBACK,
        or_(
            EventRecord.started_at >= start,
            EventRecord.ended_at.is_(None),
            EventRecord.ended_at > start,
        ),
    )
    return _events(session, agent_ids, reaching_in, end)


def _events(
    session: Session, agent_ids: Sequence[int], since: ColumnElement[bool], end: datetime
) -> list[EventRecord]:
    query = (
        select(EventRecord)
        .where(EventRecord.agent_id.in_(agent_ids), since, EventRecord.started_at < end)
        .order_by(EventRecord.started_at)
    )
    return list(session.scalars(query))


def mark_reviewed(
    event: EventRecord, *, decision: str, note: str, reviewer_id: int, now: datetime
) -> None:
    """A reviewer's decision on a pending event (``reviews.service.review`` checks and audits)."""
    event.review, event.review_note = decision, note
    event.reviewed_by, event.reviewed_at = reviewer_id, now
