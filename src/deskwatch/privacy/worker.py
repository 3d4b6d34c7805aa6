"""The worker's privacy settings as their agent holds them (fetched with the policy)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from deskwatch.privacy.categories import CATEGORIES, LEGAL_BASIS_WORDS


class WorkerCategory(BaseModel):
    """One category for this worker, in the words their page shows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
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

    def off(self) -> list[str]:
        """Categories whose rules and detectors the agent must not run."""
        return [c.key for c in self.categories if not c.on]

    @classmethod
    def defaults(cls) -> WorkerPrivacy:
        """The catalogue's defaults, in force until the server has been reached."""
        return cls(
            categories=[
                WorkerCategory(
                    key=c.key,
                    title=c.title,
                    purpose=c.purpose,
                    legal_basis_words=LEGAL_BASIS_WORDS[c.legal_basis],
                    retention_days=c.retention_days,
                    enabled=c.default_on,
                    may_object=c.may_object,
                )
                for c in CATEGORIES.values()
            ]
        )
