"""Password re-confirmations: personal data of the worker, kept like their identity events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from deskwatch.server.db import Base, UTCDateTime


class IdentityCheck(Base):
    """One re-confirmation by password from a worker's device: when, and whether it matched.

    Purged after the identity category's retention, exported and erased with the worker's
    other monitoring data; the audit log holds no entry per attempt."""

    __tablename__ = "identity_checks"
    __table_args__ = (Index("ix_identity_checks_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(36), ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool]
