"""The DPIA draft's typed parts (``dpia.service.build`` fills them, ``dpia.render`` writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deskwatch.server.dpia.text import Recipient, Risk


@dataclass(frozen=True)
class Retention:
    """Retention and purge settings that are not per category."""

    audit_days: int
    other_days: int
    request_days: int
    purge_every_s: float
    metrics_enabled: bool = False  # /metrics on: the operator's monitoring is a recipient
    sso_issuer_host: str = ""  # single sign-on set up: the identity provider is a processor


@dataclass(frozen=True)
class TeamSetting:
    """One team's choice for one category."""

    team: str
    enabled: bool
    purpose: str
    legal_basis: str
    legal_basis_words: str
    retention_days: int
    may_object: bool
    snapshot: bool
    objections: int


@dataclass(frozen=True)
class CategorySection:
    """A category: what it detects, what it needs, and how each team has it."""

    key: str
    title: str
    event_types: list[str]
    detectors: list[str]
    reviewed_types: list[str]
    special: str
    teams: list[TeamSetting]

    @property
    def in_use(self) -> bool:
        return any(t.enabled for t in self.teams)

    @property
    def counted_after_review(self) -> str:
        """Which events count only once a person confirms them (and every disputed one)."""
        rest = "they count as recorded unless the worker disputes them"
        if not self.reviewed_types:
            return f"none; {rest}"
        others = len(self.reviewed_types) < len(self.event_types)
        return ", ".join(self.reviewed_types) + (f"; the others: {rest}" if others else "")


@dataclass(frozen=True)
class TeamFacts:
    name: str
    agents: int
    devices: int
    supervisors: int
    policy_version: int


@dataclass(frozen=True)
class BalancingTest:
    """The legitimate-interest balancing test of one category (GDPR Art. 6(1)(f))."""

    title: str
    teams: list[str]
    purposes: list[str]
    necessity: str
    balance: str
    objection: str


@dataclass(frozen=True)
class NoticeItem:
    title: str
    purpose: str
    legal_basis_words: str
    retention_days: int
    may_object: bool
    snapshot: bool


@dataclass(frozen=True)
class Notice:
    """The worker notice of one team (EU AI Act Art. 26(7); GDPR Art. 13)."""

    team: str
    items: list[NoticeItem]
    paragraphs: list[str]  # [what happens, who sees it, assurances, rights]


@dataclass(frozen=True)
class Dpia:
    generated_at: datetime
    sites: int
    agents: int
    devices: int
    teams: list[TeamFacts]
    categories: list[CategorySection]
    retention: Retention
    recipients: list[Recipient]
    safeguards: list[str]
    balancing: list[BalancingTest]
    risks: list[Risk]
    notices: list[Notice]
    to_complete: list[str]

    @property
    def snapshots_on(self) -> bool:
        return any(t.snapshot and t.enabled for c in self.categories for t in c.teams)

    @property
    def identity_on(self) -> bool:
        return any(c.in_use for c in self.categories if c.key == "identity")
