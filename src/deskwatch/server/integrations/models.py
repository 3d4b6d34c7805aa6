"""Sinks (where security events and audit entries go) and the outbox of deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deskwatch.server.db import Base, UTCDateTime, utcnow


class Sink(Base):
    """A webhook (``url``, ``secret``) or a syslog receiver (``host``, ``port``, ``tls``).

    ``secret`` is the webhook's signing secret encrypted (Fernet) with a key derived from
    the server's signing key, which lives outside the database; only its fingerprint is
    ever shown. Nothing is sent unless ``enabled`` (off until an admin switches it on)."""

    __tablename__ = "integration_sinks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # webhook | syslog
    enabled: Mapped[bool] = mapped_column(default=False)
    url: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(Text)
    secret_fingerprint: Mapped[str] = mapped_column(String(16), default="")
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None]
    tls: Mapped[bool] = mapped_column(default=False)
    ca_file: Mapped[str | None] = mapped_column(String(500))
    facility: Mapped[int] = mapped_column(default=10)
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    audit_actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxRow(Base):
    """One delivery to one sink, written in the transaction that stored what it reports.

    Sent in ``id`` order per ``(sink_id, stream)`` (``agent:N`` or ``audit``); deleted once
    delivered; ``status`` ``dead`` after too many failures, until an admin replays it."""

    __tablename__ = "integration_outbox"
    __table_args__ = (
        Index("ix_integration_outbox_stream", "sink_id", "stream", "status", "id"),
        Index("ix_integration_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sink_id: Mapped[int] = mapped_column(ForeignKey("integration_sinks.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # event | audit
    delivery_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # being sent
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
