"""The worker's privacy settings as their agent holds them (fetched with the policy).

Fail closed: a category is on only when the server's list names it, enabled and not
objected to. Until the agent has fetched the worker's settings once, ``unknown()`` is in
force and every category is off: an admin may switch off any category for a team
(security and attendance included) and a worker may object to some, so before the first
fetch the agent cannot know that any category is on, and nothing runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from deskwatch.privacy.categories import CATEGORIES, LEGAL_BASIS_WORDS


class WorkerCategory(BaseModel):
    """One category for this worker, in the words their page shows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str  # a key this agent does not know (a newer server's) switches nothing on
    title: str
    purpose: str
    legal_basis_words: str
    retention_days: int
    enabled: bool
    may_object: bool
    objected: bool = False
    snapshot: bool = False

    @property
    def on(self) -> bool:
        return self.enabled and not self.objected


class WorkerPrivacy(BaseModel):
    """``rev`` grows on the server whenever any of this changes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rev: int = 0
    categories: list[WorkerCategory]
    snapshot_key: str | None = None

    def on(self) -> frozenset[str]:
        """Known categories the server listed as enabled and not objected to."""
        return frozenset(c.key for c in self.categories if c.on and c.key in CATEGORIES)

    def off(self) -> list[str]:
        """Categories whose rules and detectors the agent must not run: every category of
        the catalogue that is not on, including any the server's list left out."""
        on = self.on()
        return [key for key in CATEGORIES if key not in on]

    @classmethod
    def unknown(cls) -> WorkerPrivacy:
        """In force until the worker's settings are fetched: every category off."""
        return cls(
            rev=-1,  # never a server's revision, so the first heartbeat asks for the settings
            categories=[
                WorkerCategory(
                    key=c.key,
                    title=c.title,
                    purpose=c.purpose,
                    legal_basis_words=LEGAL_BASIS_WORDS[c.legal_basis],
                    retention_days=c.retention_days,
                    enabled=False,
                    may_object=c.may_object,
                )
                for c in CATEGORIES.values()
            ],
        )
