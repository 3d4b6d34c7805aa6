"""Agent status from heartbeats, and its history for timelines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from deskwatch.server.db import Base, UTCDateTime


class AgentStatus(Base):
    """The latest status of an agent and since when it holds."""

    __tablename__ = "agent_status"

    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paused_for_s: Mapped[float | None] = mapped_column(Float)
    clock_offset_s: Mapped[float | None] = mapped_column(Float)  # the PC's clock ahead by


class StatusChange(Base):
    """A status transition; consecutive rows make a day's timeline."""

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
