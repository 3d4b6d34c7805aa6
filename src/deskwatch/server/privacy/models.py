"""Per-team category settings and workers' objections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from deskwatch.server.db import Base, UTCDateTime, utcnow


class CategorySetting(Base):
    """A team's choice for one category; a missing row means the catalogue's default."""

    __tablename__ = "category_settings"
    __table_args__ = (UniqueConstraint("team_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool]
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(30))
    retention_days: Mapped[int]
    may_object: Mapped[bool]
    snapshot: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Objection(Base):
    """A worker's objection to a category (GDPR Art. 21); their agent stops its detectors."""

    __tablename__ = "objections"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
