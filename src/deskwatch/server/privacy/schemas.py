"""Category and objection bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from deskwatch.privacy.categories import CategoryKey, LegalBasis


class CategoryView(BaseModel):
    """A category as a team has it, in plain words."""

    key: CategoryKey
    title: str
    purpose: str
    event_types: list[str]
    legal_basis: LegalBasis
    legal_basis_words: str
    retention_days: int
    enabled: bool
    may_object: bool
    snapshot: bool


class CategoryIn(BaseModel):
    """An admin's change to one category of a team (omitted fields stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    purpose: str | None = Field(default=None, min_length=10, max_length=2000)
    legal_basis: LegalBasis | None = None
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    may_object: bool | None = None
    snapshot: bool | None = None


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objected: bool


class MyCategory(CategoryView):
    objected: bool


class DevicePrivacy(BaseModel):
    """What the agent needs: which categories are off for this worker, and snapshots."""

    rev: int
    categories: list[MyCategory]
    snapshot_key: str | None = None  # the server's public key, when any snapshot is on
