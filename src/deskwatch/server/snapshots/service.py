"""Evidence stills: accepted only for an enabled, unobjected snapshot category of the
device's own agent, kept as received (sealed), opened in memory for those who may see them.

Once the worker objects, or stills (or the whole category) are switched off for their team,
the stills already kept are hidden from everyone but the worker, who sees their own until
they expire (at most 7 days after they were taken)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deskwatch.privacy.categories import SNAPSHOT_CATEGORIES, category_of
from deskwatch.privacy.sealing import SealError, check_shape, unseal
from deskwatch.server.devices.models import Device
from deskwatch.server.errors import InvalidError, NotFoundError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.orgs.models import User
from deskwatch.server.privacy.service import my_categories
from deskwatch.server.settings import Settings
from deskwatch.server.snapshots.keys import private_key
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.snapshots.schemas import MAX_SEALED_BYTES, SnapshotIn

MAX_KEEP = timedelta(days=7)
# The one answer for a still that does not exist and for one the caller may not see.
NO_SNAPSHOT = "no such snapshot"


class SnapshotOffError(Exception):
    """403: stills are not allowed for this event (category off, snapshot off, objected)."""


class TooLargeError(Exception):
    """413: the sealed still is over MAX_SEALED_BYTES."""


def decode_sealed(text: str) -> bytes:
    """The sealed box from its base64 text; InvalidError / TooLargeError if it is not one."""
    try:
        sealed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidError("sealed: not base64") from None
    if len(sealed) > MAX_SEALED_BYTES:
        raise TooLargeError(
            f"sealed still is {len(sealed)} bytes; at most {MAX_SEALED_BYTES} are accepted"
        )
    try:
        check_shape(sealed)
    except SealError as exc:
        raise InvalidError(f"sealed: {exc}") from None
    return sealed


def allowed_days(session: Session, *, agent: User, category: str) -> int:
    """Days a still of ``category`` may be kept for ``agent``; SnapshotOffError if none."""
    if category not in SNAPSHOT_CATEGORIES:
        raise SnapshotOffError(f"no evidence stills for {category!r} events")
    mine = next(c for c in my_categories(session, agent=agent) if c.key == category)
    if not (mine.enabled and mine.snapshot):
        raise SnapshotOffError(f"evidence stills are off for {category!r} in your team")
    if mine.objected:
        raise SnapshotOffError(f"the worker objected to {category!r}")
    return mine.retention_days


def store(
    session: Session, *, device: Device, body: SnapshotIn, now: datetime, future_skew_s: float
) -> tuple[Snapshot, bool]:
    """Keep one sealed still for one of the device's agent's events; a second upload for
    the same event returns the first (``True``: a duplicate)."""
    sealed = decode_sealed(body.sealed)
    event = session.get(EventRecord, str(body.event_id))
    agent = session.get(User, device.agent_id)
    assert agent is not None
    if event is None or event.agent_id != device.agent_id:
        if len(hidden_categories(session, agent=agent)) == len(SNAPSHOT_CATEGORIES):
            # No still is allowed at all (an event dropped at ingest for an objection,
            # say): refused, so the agent stops retrying instead of waiting for the event.
            raise SnapshotOffError("evidence stills are off or objected to for this worker")
        raise NotFoundError("no such event of this device's worker (send the event first)")
    taken_at = body.taken_at
    if taken_at.tzinfo is None:
        raise InvalidError("taken_at: needs a timezone")
    if taken_at > now + timedelta(seconds=future_skew_s):
        raise InvalidError("taken_at: in the future")
    category = category_of(event.type) or event.type
    keep = min(MAX_KEEP, timedelta(days=allowed_days(session, agent=agent, category=category)))
    expires_at = min(taken_at, now) + keep
    if expires_at <= now:
        raise InvalidError("taken_at: older than the still may be kept")
    existing = session.scalar(select(Snapshot).where(Snapshot.event_id == event.id))
    if existing is not None:
        return existing, True
    row = Snapshot(
        id=str(uuid.uuid4()),
        event_id=event.id,
        agent_id=agent.id,
        category=category,
        taken_at=taken_at,
        received_at=now,
        expires_at=expires_at,
        sealed=sealed,
    )
    return insert_once(session, row=row)


def insert_once(session: Session, *, row: Snapshot) -> tuple[Snapshot, bool]:
    """Store ``row``, or, when a concurrent upload stored one for the same event first (the
    unique ``event_id``), that one (``True``: a duplicate)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        first = session.scalar(select(Snapshot).where(Snapshot.event_id == row.event_id))
        if first is None:  # another constraint failed: not a duplicate
            raise
        return first, True
    return row, False


def hidden_categories(session: Session, *, agent: User) -> set[str]:
    """Still categories that others may no longer see for ``agent``: switched off for the
    team (category or its stills) or objected to by the worker."""
    return {
        c.key
        for c in my_categories(session, agent=agent)
        if c.key in SNAPSHOT_CATEGORIES and not (c.enabled and c.snapshot and not c.objected)
    }


def visible_to(
    session: Session, *, viewer: User, agent: User, rows: list[Snapshot]
) -> list[Snapshot]:
    """The stills of ``rows`` that ``viewer`` may see: all for the worker themself."""
    if viewer.id == agent.id:
        return rows
    hidden = hidden_categories(session, agent=agent)
    return [r for r in rows if r.category not in hidden]


def snapshots_of(session: Session, *, agent_id: int, now: datetime) -> list[Snapshot]:
    """An agent's unexpired stills, newest first (the purge deletes expired ones)."""
    query = (
        select(Snapshot)
        .where(Snapshot.agent_id == agent_id, Snapshot.expires_at > now)
        .order_by(Snapshot.taken_at.desc())
    )
    return list(session.scalars(query))


def get(session: Session, *, snapshot_id: str, now: datetime) -> Snapshot:
    """An unexpired still (NotFoundError otherwise); the caller checks who may see it."""
    row = session.get(Snapshot, snapshot_id)
    if row is None or row.expires_at <= now:
        raise NotFoundError(NO_SNAPSHOT)
    return row


def open_jpeg(row: Snapshot, settings: Settings) -> bytes:
    """The still's JPEG, decrypted in memory only (SealError if the key no longer fits)."""
    return unseal(row.sealed, private_key(settings), context=row.event_id.encode())
