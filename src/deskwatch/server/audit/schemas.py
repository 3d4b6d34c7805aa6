"""Audit-log bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from deskwatch.server.bounds import DB_INT_MAX


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    detail: dict[str, Any]


class AuditFilter(BaseModel):
    """Which entries to list: every field narrows (None: any). ``start``/``end`` bound
    ``at`` as [start, end); ``text`` is found in the action, subject or detail, any case
    (or among ``text_actors``, the actors whose names match it)."""

    model_config = ConfigDict(extra="forbid")

    actor_id: int | None = Field(default=None, ge=0, le=DB_INT_MAX)  # 0: no actor (devices)
    action: str | None = Field(default=None, max_length=60)
    subject: str | None = Field(default=None, max_length=200)
    start: datetime | None = None
    end: datetime | None = None
    text: str | None = Field(default=None, max_length=200)
    text_actors: tuple[int, ...] = Field(default=(), max_length=1000)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, at: datetime | None) -> datetime | None:
        """A time without a zone is UTC (as the log stores it)."""
        return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


class ChainState(BaseModel):
    """The chain's verification as a page shows it: of the whole log, or of a window."""

    intact: bool
    entries: int  # how many entries were checked
    broken_at: int | None = None
    reason: str = ""
    whole: bool = True  # False: only the entries from ``first_id`` to ``last_id``
    first_id: int | None = None
    last_id: int | None = None
    total: int = 0  # entries in the log
