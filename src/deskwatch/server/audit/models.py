"""The audit log: who read or changed what, when. Append-only, HMAC-chained."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskwatch.server.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One entry; ``hash`` is an HMAC of its content and the previous entry's hash (a chain).

    ``actor_id`` and ``subject`` are indexed: My data looks entries up by both."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("hash", name="uq_audit_log_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
