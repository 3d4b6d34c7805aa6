"""Sending the outbox: signed webhooks and syslog (RFC 5424, CEF) over TCP or TLS.

At least once and in order per sink and agent: only the oldest pending row of each
``(sink, stream)`` is tried, so the next one for an agent waits until the one before it
was delivered (or moved aside as a dead letter). A failure is retried after 1 s, 2 s, 4 s
... (at most ``MAX_BACKOFF_S``); after ``MAX_ATTEMPTS`` the row is a dead letter until an
admin replays it. On PostgreSQL the heads are claimed ``FOR UPDATE SKIP LOCKED`` and
leased (``claimed_until``) while they are sent outside any transaction, so several server
processes deliver side by side without sending a row twice at once or out of order."""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import json
import logging
import os
import socket
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from deskwatch.server.integrations.models import OutboxRow, Sink
from deskwatch.server.integrations.schemas import DeliveryResult
from deskwatch.server.integrations.service import SecretError, open_secret
from deskwatch.server.ops.metrics import WEBHOOK_FAILURES
from deskwatch.server.privacy.service import off_types

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 300.0
TIMEOUT_S = 10.0
BATCH = 20
LEASE_S = BATCH * TIMEOUT_S * 2  # a claim outlives any run that is still sending
ROUNDS = 50  # per run: a stream's later rows go out in the same run once earlier ones did
SIGNATURE, TIMESTAMP, DELIVERY = (
    "X-Deskwatch-Signature",
    "X-Deskwatch-Timestamp",
    "X-Deskwatch-Delivery",
)
SEVERITY = {"phone_in_use": 7, "extra_person": 6, "camera_obstructed": 5, "identity_mismatch": 8}
NAMES = {
    "phone_in_use": "Phone in use at the desk",
    "extra_person": "Another person at the desk",
    "camera_obstructed": "Camera obstructed",
    "identity_mismatch": "Person at the desk is not the signed-in agent",
}
AUDIT_SEVERITY = 3
try:
    VERSION = importlib.metadata.version("deskwatch")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
    VERSION = "0"


class DeliveryError(Exception):
    """The receiver did not take the message (why, in a few words)."""


class UnreachableError(DeliveryError):
    """The receiver could not be reached at all (no connection, a timeout, TLS refused)."""


def on_delivery_failure(kind: str) -> None:
    """Called on every failed delivery attempt (``kind``: webhook or syslog): webhooks count
    in ``deskwatch_webhook_failures``; every failure is logged."""
    if kind == "webhook":
        WEBHOOK_FAILURES.inc()


def backoff_s(attempts: int) -> float:
    """The wait after the ``attempts``-th failure: 1 s, 2 s, 4 s, ... capped."""
    return float(min(FIRST_BACKOFF_S * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def deliver_once(
    sessions: sessionmaker[Session], *, now: datetime, signing_key: str
) -> DeliveryResult:
    """Send what is due, round after round while rows go out. Each round claims its rows in
    one short transaction, sends them outside any transaction (a slow receiver holds no
    lock: on SQLite that would stop every write) and settles them in another."""
    total = DeliveryResult()
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for _ in range(ROUNDS):
            with sessions.begin() as session:
                claimed = _claim(session, now)
            tried = _send_all(claimed, now=now, signing_key=signing_key, client=client)
            with sessions.begin() as session:
                done = _settle(session, tried, now)
            total = DeliveryResult(
                sent=total.sent + done.sent,
                failed=total.failed + done.failed,
                dead=total.dead + done.dead,
            )
            if not done.sent:
                break
    return total


def _heads(session: Session, now: datetime) -> list[tuple[OutboxRow, Sink]]:
    """The oldest pending row of each (sink, stream), if due, not claimed by a run still
    going on, and its sink on; locked (``SKIP LOCKED``: another process's are passed by)."""
    older = aliased(OutboxRow)
    head = (
        select(func.min(older.id))
        .where(
            older.sink_id == OutboxRow.sink_id,
            older.stream == OutboxRow.stream,
            older.status == "pending",
        )
        .scalar_subquery()
    )
    query = (
        select(OutboxRow, Sink)
        .join(Sink, Sink.id == OutboxRow.sink_id)
        .where(
            Sink.enabled.is_(True),
            OutboxRow.status == "pending",
            OutboxRow.next_attempt_at <= now,
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= now),
            OutboxRow.id == head,
        )
        .order_by(OutboxRow.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=OutboxRow)
    )
    return [(row, sink) for row, sink in session.execute(query).all()]


def _claim(session: Session, now: datetime) -> list[tuple[OutboxRow, Sink]]:
    """Claim the due heads for ``LEASE_S`` (a run that dies leaves them to be sent again
    after it); rows whose type the worker's categories no longer allow are dropped."""
    allowed, claimed = _Allowed(session), []
    for row, sink in _heads(session, now):
        if not allowed(row):  # the category went off, or the worker objected, since
            session.delete(row)
            continue
        row.claimed_until = now + timedelta(seconds=LEASE_S)
        claimed.append((row, sink))
    session.flush()
    session.expunge_all()  # readable once committed, whatever the sessions' expire_on_commit
    return claimed


Tried = list[tuple[OutboxRow, Sink, str | None, bool]]  # row, sink, why it failed, tried


def _send_all(
    claimed: list[tuple[OutboxRow, Sink]], *, now: datetime, signing_key: str, client: httpx.Client
) -> Tried:
    """Send each claimed row. After a receiver could not be reached, the rest of its sink's
    rows wait for the next run untried (not one timeout each)."""
    tried: Tried = []
    down: set[int] = set()
    for row, sink in claimed:
        if sink.id in down:
            tried.append((row, sink, None, False))
            continue
        try:
            send(sink, row, now=now, signing_key=signing_key, client=client)
        except (DeliveryError, SecretError, OSError) as exc:
            if isinstance(exc, UnreachableError | OSError):
                down.add(sink.id)
            tried.append((row, sink, str(exc) or type(exc).__name__, True))
            continue
        tried.append((row, sink, None, True))
    return tried


def _settle(session: Session, tried: Tried, now: datetime) -> DeliveryResult:
    """Delete what was delivered; count the failures (backoff, dead letters); release the
    claims. A row deleted meanwhile (its sink removed, an erasure) is passed over."""
    sent = failed = dead = 0
    for claimed, sink, why, attempted in tried:
        row = session.get(OutboxRow, claimed.id)
        if row is None:
            continue
        row.claimed_until = None
        if not attempted:
            continue
        if why is None:
            session.delete(row)
            sent += 1
            continue
        failed += 1
        dead += _failed(row, sink, why, now)
    return DeliveryResult(sent=sent, failed=failed, dead=dead)


class _Allowed:
    """Whether an event row's type is still allowed for its agent (audit rows: always)."""

    def __init__(self, session: Session) -> None:
        self.session, self.off = session, dict[int, frozenset[str]]()

    def __call__(self, row: OutboxRow) -> bool:
        if row.kind != "event":
            return True
        event = row.payload["event"]
        agent = int(event["agent"]["id"])
        if agent not in self.off:
            self.off[agent] = off_types(self.session, agent_id=agent)
        return event["type"] not in self.off[agent]


def _failed(row: OutboxRow, sink: Sink, why: str, now: datetime) -> int:
    """Count the attempt; 1 when the row became a dead letter."""
    on_delivery_failure(sink.kind)
    row.attempts += 1
    row.last_error = why[:300]
    log.warning(
        "integration %s (%s): delivery %s failed: %s", sink.id, sink.name, row.delivery_id, why
    )
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "dead"
        return 1
    row.next_attempt_at = now + timedelta(seconds=backoff_s(row.attempts))
    return 0


def send(
    sink: Sink, row: OutboxRow, *, now: datetime, signing_key: str, client: httpx.Client
) -> None:
    """Deliver one row; DeliveryError (or OSError) if the receiver did not take it."""
    if sink.kind == "webhook":
        post_webhook(
            sink, row, now=now, secret=open_secret(sink, signing_key=signing_key), client=client
        )
    else:
        send_syslog(sink, syslog_frame(sink, row, now=now))


# Webhooks --------------------------------------------------------------------------------


def body_of(row: OutboxRow) -> bytes:
    return json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def post_webhook(
    sink: Sink, row: OutboxRow, *, now: datetime, secret: bytes, client: httpx.Client
) -> None:
    body, timestamp = body_of(row), str(int(now.timestamp()))
    headers = {
        "content-type": "application/json",
        "user-agent": f"deskwatch/{VERSION}",
        SIGNATURE: signature(secret, timestamp, body),
        TIMESTAMP: timestamp,
        DELIVERY: row.delivery_id,
        "Idempotency-Key": row.delivery_id,
    }
    try:
        reply = client.post(sink.url or "", content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise UnreachableError(f"{type(exc).__name__}: {exc}") from exc
    if not reply.is_success:
        raise DeliveryError(f"HTTP {reply.status_code}")


# Syslog ----------------------------------------------------------------------------------


def _header(value: object) -> str:
    """A CEF header field: backslash and pipe escaped, no line breaks."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r", " ").replace("\n", " ")


def _ext(value: object) -> str:
    """A CEF extension value: backslash, equals sign and line breaks escaped."""
    text = str(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def _ms(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)


def _event_ext(event: dict[str, Any]) -> dict[str, object | None]:
    team = event.get("team") or {}
    return {
        "rt": _ms(event["started_at"]),
        "start": _ms(event["started_at"]),
        "end": _ms(event["ended_at"]),
        "duid": event["agent"]["id"],
        "duser": event["agent"]["name"],
        "cs1Label": "team",
        "cs1": team.get("name"),
        "cs2Label": "state",
        "cs2": event["state"],
        "cs3Label": "eventId",
        "cs3": event["id"],
        "cfp1Label": "confidence",
        "cfp1": event["confidence"],
        "cn1Label": "durationSeconds",
        "cn1": None if event["duration_s"] is None else round(event["duration_s"]),
    }


def _audit_ext(entry: dict[str, Any]) -> dict[str, object | None]:
    actor = entry.get("actor") or {}
    return {
        "rt": _ms(entry["at"]),
        "act": entry["action"],
        "suid": actor.get("id"),
        "suser": actor.get("name"),
        "cs1Label": "subject",
        "cs1": entry["subject"],
        "cs2Label": "fields",
        "cs2": ",".join(entry["fields"]) or None,
        "cn1Label": "auditEntry",
        "cn1": entry["id"],
    }


def cef(row: OutboxRow) -> tuple[str, int]:
    """The row as a CEF line, and its CEF severity (0-10)."""
    if row.kind == "event":
        event = row.payload["event"]
        sig, name, severity = (
            event["type"],
            NAMES.get(event["type"], event["type"]),
            SEVERITY.get(event["type"], 5),
        )
        ext = _event_ext(event)
    else:
        entry = row.payload["audit"]
        sig, name, severity = entry["action"], f"Audit: {entry['action']}", AUDIT_SEVERITY
        ext = _audit_ext(entry)
    ext["externalId"] = row.delivery_id
    head = "|".join(
        _header(v) for v in ("CEF:0", "deskwatch", "deskwatch", VERSION, sig, name, severity)
    )
    pairs = " ".join(f"{k}={_ext(v)}" for k, v in ext.items() if v is not None)
    return f"{head}|{pairs}", severity


def _syslog_severity(cef_severity: int) -> int:
    """CEF 0-10 to syslog: 8+ error (3), 6-7 warning (4), 4-5 notice (5), lower info (6)."""
    return 3 if cef_severity >= 8 else 4 if cef_severity >= 6 else 5 if cef_severity >= 4 else 6


def _printable(value: str, limit: int) -> str:
    text = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return text or "-"


def rfc5424(row: OutboxRow, *, facility: int, now: datetime, hostname: str | None = None) -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME deskwatch PROCID MSGID - CEF:...`` (RFC 5424)."""
    line, severity = cef(row)
    msgid = row.payload["event"]["type"] if row.kind == "event" else "audit"
    stamp = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = _printable(hostname if hostname is not None else socket.gethostname(), 255)
    pri = facility * 8 + _syslog_severity(severity)
    header = f"<{pri}>1 {stamp} {host} deskwatch {os.getpid()} {_printable(msgid, 32)} -"
    return f"{header} {line}".encode()


def syslog_frame(sink: Sink, row: OutboxRow, *, now: datetime) -> bytes:
    """The message with octet-counting framing (RFC 6587): its length, a space, itself."""
    message = rfc5424(row, facility=sink.facility, now=now)
    return str(len(message)).encode() + b" " + message


def send_syslog(sink: Sink, frame: bytes) -> None:
    """Over TCP, or TLS verifying the receiver's certificate (against ``ca_file``, else the
    system's CAs) and its name."""
    with socket.create_connection((sink.host or "", sink.port or 0), timeout=TIMEOUT_S) as raw:
        if not sink.tls:
            raw.sendall(frame)
            return
        context = ssl.create_default_context(cafile=sink.ca_file or None)
        with context.wrap_socket(raw, server_hostname=sink.host) as tls:
            tls.sendall(frame)
