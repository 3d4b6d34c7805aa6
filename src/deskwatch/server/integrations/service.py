"""Sinks (audited), the outbox they are fed from, dead letters and their replay.

Rows are enqueued in the transaction that stores what they report: a security event as
ingest stores it (``flows.ingest_events``), an audit entry as ``audit.service.record``
appends it (a subscriber). Each is minimised like the board: who (display name and id),
their team, what, when, how long and how sure; never stills, frames, evidence or comments;
only for event types the worker's categories allow (team setting and objections)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Delete, delete, func, select, update
from sqlalchemy.orm import Session

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.service import record, subscribe
from deskwatch.server.errors import InvalidError, NotFoundError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.events.schemas import DeviceEvent
from deskwatch.server.integrations.models import OutboxRow, Sink
from deskwatch.server.integrations.schemas import (
    SIEM_TYPES,
    DeadLetter,
    SinkChange,
    SinkFields,
    SinkIn,
    SinkOut,
)
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.privacy.service import off_types

CREATED, CHANGED, DELETED = "integration:created", "integration:changed", "integration:deleted"
REPLAYED, DISCARDED = "integration:replayed", "integration:discarded"
_KDF_INFO = b"deskwatch integration secrets v1"
_SHOWN = ("name", "enabled", "host", "port", "tls", "ca_file", "facility")


class SecretError(Exception):
    """A sink's secret cannot be opened (the server's signing key changed since)."""


def _box(signing_key: str) -> Fernet:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(signing_key.encode())))


def open_secret(sink: Sink, *, signing_key: str) -> bytes:
    """The webhook's signing secret, decrypted."""
    if not sink.secret:
        raise SecretError("the sink has no secret")
    try:
        return _box(signing_key).decrypt(sink.secret.encode())
    except InvalidToken as exc:
        raise SecretError(
            "secret unreadable: the server's signing key changed; set it again"
        ) from exc


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _set_secret(sink: Sink, secret: str | None, signing_key: str) -> None:
    sink.secret = _box(signing_key).encrypt(secret.encode()).decode() if secret else None
    sink.secret_fingerprint = fingerprint(secret) if secret else ""


def target(sink: Sink) -> str:
    """Where the sink sends, without credentials or paths (for the log, the DPIA, pages)."""
    if sink.kind == "webhook":
        parts = urlsplit(sink.url or "")
        return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return f"{'tls' if sink.tls else 'tcp'}://{sink.host}:{sink.port}"


def _described(sink: Sink) -> dict[str, Any]:
    return {
        "kind": sink.kind,
        "name": sink.name,
        "target": target(sink),
        "enabled": sink.enabled,
        "event_types": list(sink.event_types),
        "audit_actions": list(sink.audit_actions),
    }


def get_sink(session: Session, *, sink_id: int) -> Sink:
    sink = session.get(Sink, sink_id)
    if sink is None:
        raise NotFoundError(f"no integration {sink_id}")
    return sink


def list_sinks(session: Session) -> list[SinkOut]:
    """Every sink with its pending and dead-letter counts."""
    counts: dict[tuple[int, str], int] = {
        (sink_id, status): int(n)
        for sink_id, status, n in session.execute(
            select(OutboxRow.sink_id, OutboxRow.status, func.count()).group_by(
                OutboxRow.sink_id, OutboxRow.status
            )
        )
    }
    return [
        SinkOut.model_validate(s).model_copy(
            update={
                "pending": counts.get((s.id, "pending"), 0),
                "dead": counts.get((s.id, "dead"), 0),
            }
        )
        for s in session.scalars(select(Sink).order_by(Sink.id))
    ]


def create_sink(
    session: Session, *, admin: User, body: SinkIn, now: datetime, signing_key: str
) -> tuple[Sink, str | None]:
    """A new sink (audited); a webhook without a secret gets one, returned this once."""
    made = secrets.token_urlsafe(32) if body.kind == "webhook" and not body.secret else None
    fields = body.model_dump(exclude={"secret"})
    if body.kind == "webhook":
        fields.update(host=None, port=None, tls=False, ca_file=None)
    else:
        fields.update(url=None)
    sink = Sink(**fields, created_at=now, updated_at=now)  # who: the audit entry
    _set_secret(sink, (made or body.secret) if body.kind == "webhook" else None, signing_key)
    session.add(sink)
    session.flush()
    record(
        session,
        actor=admin,
        action=CREATED,
        subject=f"integration:{sink.id}",
        now=now,
        detail=_described(sink),
    )
    return sink, made


def _check(fields: dict[str, Any]) -> None:
    """The sink as it would be after a change must be complete (InvalidError: which field)."""
    try:
        SinkFields.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        why = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidError(f"{where}: {why}" if where else why) from exc


def change_sink(
    session: Session,
    *,
    admin: User,
    sink_id: int,
    change: SinkChange,
    now: datetime,
    signing_key: str,
) -> Sink:
    """Change a sink (audited: each field as ``[old, new]``, the secret only as replaced)."""
    sink = get_sink(session, sink_id=sink_id)
    asked = change.model_dump(exclude_unset=True, exclude={"secret"})
    current = {k: getattr(sink, k) for k in SinkFields.model_fields if k != "secret"}
    _check({**current, **asked, "secret": change.secret})
    before = {**current, "target": target(sink)}
    for key, value in asked.items():
        setattr(sink, key, value)
    detail: dict[str, Any] = {
        key: [before[key], getattr(sink, key)]
        for key in (*_SHOWN, "event_types", "audit_actions")
        if before[key] != getattr(sink, key)
    }
    if target(sink) != before["target"]:
        detail["target"] = [before["target"], target(sink)]
    if change.secret is not None and sink.kind == "webhook":
        _set_secret(sink, change.secret, signing_key)
        detail["secret"] = "replaced"
    if detail:
        sink.updated_at = now
        record(
            session,
            actor=admin,
            action=CHANGED,
            subject=f"integration:{sink.id}",
            now=now,
            detail=detail,
        )
    return sink


def delete_sink(session: Session, *, admin: User, sink_id: int, now: datetime) -> None:
    """Remove a sink and whatever it had not delivered (audited, with how many)."""
    sink = get_sink(session, sink_id=sink_id)
    dropped = session.execute(delete(OutboxRow).where(OutboxRow.sink_id == sink.id))
    detail = {**_described(sink), "undelivered_dropped": int(getattr(dropped, "rowcount", 0))}
    session.delete(sink)
    session.flush()
    record(
        session,
        actor=admin,
        action=DELETED,
        subject=f"integration:{sink_id}",
        now=now,
        detail=detail,
    )


def _what(row: OutboxRow) -> str:
    body = row.payload.get(row.kind, {})
    return str(body.get("type") or body.get("action") or "")


def dead_letters(
    session: Session, *, reader: User, sink_id: int, now: datetime
) -> list[DeadLetter]:
    """A sink's dead letters, oldest first (which worker each concerns: a read, audited)."""
    sink = get_sink(session, sink_id=sink_id)
    query = select(OutboxRow).where(OutboxRow.sink_id == sink.id, OutboxRow.status == "dead")
    rows = list(session.scalars(query.order_by(OutboxRow.id)))
    if rows:
        record(
            session,
            actor=reader,
            action="read:dead_letters",
            subject=f"integration:{sink.id}",
            now=now,
            detail={"count": len(rows)},
        )
    return [
        DeadLetter(
            id=r.id,
            sink_id=r.sink_id,
            stream=r.stream,
            kind=r.kind,
            what=_what(r),
            attempts=r.attempts,
            last_error=r.last_error,
            created_at=r.created_at,
        )
        for r in rows
    ]


def replay(
    session: Session, *, admin: User, sink_id: int, ids: Sequence[int] | None, now: datetime
) -> int:
    """Send dead letters again, from now, in their first order among what is pending
    (audited with how many)."""
    sink, where = _dead(session, sink_id=sink_id, ids=ids)
    stmt = (
        update(OutboxRow)
        .where(*where)
        .values(status="pending", attempts=0, next_attempt_at=now, last_error="")
    )
    count = int(
        getattr(session.execute(stmt.execution_options(synchronize_session=False)), "rowcount", 0)
    )
    record(
        session,
        actor=admin,
        action=REPLAYED,
        subject=f"integration:{sink.id}",
        now=now,
        detail={"replayed": count},
    )
    return count


def _dead(
    session: Session, *, sink_id: int, ids: Sequence[int] | None
) -> tuple[Sink, list[ColumnElement[bool]]]:
    """The sink, and the conditions picking its dead letters (those of ``ids`` only)."""
    sink = get_sink(session, sink_id=sink_id)
    where = [OutboxRow.sink_id == sink.id, OutboxRow.status == "dead"]
    if ids is not None:
        where.append(OutboxRow.id.in_(ids))
    return sink, where


def discard(
    session: Session, *, admin: User, sink_id: int, ids: Sequence[int] | None, now: datetime
) -> int:
    """Delete dead letters unsent (audited with how many)."""
    sink, where = _dead(session, sink_id=sink_id, ids=ids)
    result = session.execute(delete(OutboxRow).where(*where))
    count = int(getattr(result, "rowcount", 0))
    record(
        session,
        actor=admin,
        action=DISCARDED,
        subject=f"integration:{sink.id}",
        now=now,
        detail={"discarded": count},
    )
    return count


def forget_agent(*, agent_id: int) -> Delete:
    """The statement deleting whatever is queued or dead about a worker (an erasure)."""
    return delete(OutboxRow).where(OutboxRow.stream == f"agent:{agent_id}")


def recipients(session: Session) -> list[tuple[str, str]]:
    """Every configured sink as a DPIA recipient: (who, what they receive)."""
    return [
        (
            f"Integration {s.name!r} ({s.kind}, {target(s)}, {'on' if s.enabled else 'off'})",
            _sees(s),
        )
        for s in session.scalars(select(Sink).order_by(Sink.id))
    ]


def _sees(sink: Sink) -> str:
    parts = []
    if sink.event_types:
        parts.append(
            f"security events ({', '.join(sink.event_types)}) as the board shows them: the "
            "agent's name and id, team, type, start, end, duration and confidence, only where "
            "the worker's categories allow; no stills, evidence or comments"
        )
    if sink.audit_actions:
        parts.append(
            f"audit-log entries ({', '.join(sink.audit_actions)}): who did what to which "
            "subject and the names of the fields changed, not their values"
        )
    text = "; ".join(parts) or "nothing selected yet"
    return text[0].upper() + text[1:] + "."


# The outbox ------------------------------------------------------------------------------


def _enabled(session: Session) -> list[Sink]:
    return list(session.scalars(select(Sink).where(Sink.enabled.is_(True)).order_by(Sink.id)))


def _row(sink: Sink, *, stream: str, kind: str, body: dict[str, Any], now: datetime) -> OutboxRow:
    delivery = str(uuid.uuid4())
    return OutboxRow(
        sink_id=sink.id,
        stream=stream,
        kind=kind,
        delivery_id=delivery,
        payload={"delivery_id": delivery, "kind": kind, kind: body},
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )


@dataclass(frozen=True)
class Watch:
    """Before ingest: sinks that want security events, and which of the batch's events were
    already stored (id: still open)."""

    sinks: list[Sink]
    ids: list[str]
    open_before: dict[str, bool]


def watch_events(session: Session, *, events: Iterable[DeviceEvent]) -> Watch | None:
    """None when no enabled sink wants any of the batch's event types (nothing to do)."""
    types = {e.type for e in events if e.type in SIEM_TYPES}
    if not types:
        return None
    sinks = [s for s in _enabled(session) if types & set(s.event_types)]
    if not sinks:
        return None
    ids = [str(e.id) for e in events if e.type in types]
    known = select(EventRecord.id, EventRecord.end_s).where(EventRecord.id.in_(ids))
    return Watch(sinks, ids, {key: end is None for key, end in session.execute(known)})


def enqueue_events(session: Session, *, watch: Watch, agent_id: int, now: datetime) -> int:
    """After ingest: one row per sink for each watched event stored new or now ended, in
    the order they happened, if the worker's categories allow its type."""
    session.flush()
    off = off_types(session, agent_id=agent_id)
    query = select(EventRecord).where(
        EventRecord.id.in_(watch.ids), EventRecord.agent_id == agent_id
    )
    agent = session.get(User, agent_id)
    if agent is None:
        return 0
    team = session.get(Team, agent.team_id) if agent.team_id is not None else None
    count = 0
    place = {key: i for i, key in enumerate(watch.ids)}
    stored = sorted(session.scalars(query), key=lambda r: (r.started_at, r.start_s, place[r.id]))
    for row in stored:
        was_open = watch.open_before.get(row.id)
        fresh = row.id not in watch.open_before or (was_open and row.end_s is not None)
        if row.type in off or not fresh:
            continue
        body = event_body(row, agent=agent, team=team)
        for sink in watch.sinks:
            if row.type in sink.event_types:
                session.add(
                    _row(sink, stream=f"agent:{agent_id}", kind="event", body=body, now=now)
                )
                count += 1
    return count


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="milliseconds")


def event_body(row: EventRecord, *, agent: User, team: Team | None) -> dict[str, Any]:
    """A security event as the board shows it, nothing more."""
    return {
        "id": row.id,
        "type": row.type,
        "state": "open" if row.end_s is None else "closed",
        "agent": {"id": agent.id, "name": agent.display_name},
        "team": None if team is None else {"id": team.id, "name": team.name},
        "started_at": _iso(row.started_at),
        "ended_at": _iso(row.ended_at),
        "duration_s": row.duration_s,
        "confidence": round(row.peak_confidence, 3),
    }


def matches(action: str, patterns: Iterable[str]) -> bool:
    """``*``, ``kind:*`` or the exact action."""
    kind = action.split(":", 1)[0]
    return any(p in ("*", action, f"{kind}:*") for p in patterns)


def enqueue_audit(session: Session, *, entry: AuditEntry) -> None:
    """The audit subscriber: one row per enabled sink whose actions match the entry. What
    changed is named (the detail's keys), not its values."""
    sinks = [s for s in _enabled(session) if matches(entry.action, s.audit_actions)]
    if not sinks:
        return
    actor = session.get(User, entry.actor_id) if entry.actor_id is not None else None
    body = {
        "id": entry.id,
        "action": entry.action,
        "subject": entry.subject,
        "at": _iso(entry.at),
        "actor": None if actor is None else {"id": actor.id, "name": actor.display_name},
        "fields": sorted(entry.detail or {}),
    }
    for sink in sinks:
        session.add(_row(sink, stream="audit", kind="audit", body=body, now=entry.at))


subscribe(enqueue_audit)
