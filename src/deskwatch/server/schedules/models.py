"""Scheduled activities per agent, and the tokens a WFM system reads adherence with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from deskwatch.server.db import Base, UTCDateTime, utcnow


class ScheduledActivity(Base):
    """One activity of an agent's schedule, ``[start, end)`` in UTC, as a WFM tool sent it."""

    __tablename__ = "scheduled_activities"
    __table_args__ = (Index("ix_scheduled_activities_agent_start", "agent_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    activity: Mapped[str] = mapped_column(String(60))
    at_desk_expected: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(10))  # "csv" or "api"
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    batch: Mapped[str] = mapped_column(String(36))  # the import that brought it


class WfmToken(Base):
    """A bearer token a WFM system reads the adherence stream and export with; only its
    SHA-256 is stored, shown once when an admin creates it."""

    __tablename__ = "wfm_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
