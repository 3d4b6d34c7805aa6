"""Monitoring categories: what each is for, its legal basis and which events serve it.

Plain data, shared by the agent (``privacy.restrict`` switches rules and detectors off by
category) and the server (settings, reviews, retention, the DPIA); it imports nothing of
deskwatch, so the server reads it without loading any of the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

CategoryKey = Literal["security", "attendance", "conduct", "environment", "identity"]
LegalBasis = Literal["legitimate_interests", "contract", "consent", "legal_obligation"]
CATEGORY_KEYS: tuple[str, ...] = get_args(CategoryKey)
LEGAL_BASES: tuple[str, ...] = get_args(LegalBasis)

LEGAL_BASIS_WORDS: dict[str, str] = {
    "legitimate_interests": "legitimate interests (GDPR Art. 6(1)(f))",
    "contract": "performance of the employment contract (GDPR Art. 6(1)(b))",
    "consent": "your explicit consent (GDPR Art. 6(1)(a), Art. 9(2)(a))",
    "legal_obligation": "a legal obligation (GDPR Art. 6(1)(c))",
}


@dataclass(frozen=True)
class Category:
    """A category's defaults; admins may change purpose, basis, retention and switches."""

    key: CategoryKey
    title: str
    purpose: str
    event_types: tuple[str, ...]
    legal_basis: LegalBasis
    retention_days: int
    default_on: bool
    may_object: bool
    reviewed_types: tuple[str, ...]  # events that can lead to consequences: a person decides


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "security",
            "Card-data security",
            "Protect customers' card data: a phone pointed at the screen, another person "
            "who could see or hear it, a covered camera.",
            ("phone_in_use", "extra_person", "camera_obstructed"),
            "legitimate_interests",
            90,
            default_on=True,
            may_object=False,
            reviewed_types=("phone_in_use", "extra_person", "camera_obstructed"),
        ),
        Category(
            "attendance",
            "Attendance",
            "Know whether you are at your desk during scheduled time, as an office would.",
            ("away",),
            "contract",
            90,
            default_on=True,
            may_object=False,
            reviewed_types=(),
        ),
        Category(
            "conduct",
            "Desk conduct",
            "Notice long looks away from the screen and eating or drinking at the desk.",
            ("looking_away", "eating_drinking"),
            "legitimate_interests",
            30,
            default_on=True,
            may_object=True,
            reviewed_types=("looking_away", "eating_drinking"),
        ),
        Category(
            "environment",
            "Room noise",
            "Notice background noise or another voice that customers might hear.",
            ("background_noise", "other_voice"),
            "legitimate_interests",
            30,
            default_on=False,
            may_object=True,
            reviewed_types=("background_noise", "other_voice"),
        ),
        Category(
            "identity",
            "Identity check",
            "Confirm that the person at the desk is the agent who logged in.",
            ("identity_verified", "identity_mismatch", "identity_unverified"),
            "consent",
            30,
            default_on=False,
            may_object=True,
            reviewed_types=("identity_mismatch",),
        ),
    )
}

# Event types that are informational only (never reviewed, never a category's).
UNCATEGORISED = frozenset({"self_check"})

_BY_TYPE = {t: c.key for c in CATEGORIES.values() for t in c.event_types}
REVIEWED_TYPES = frozenset(t for c in CATEGORIES.values() for t in c.reviewed_types)
SNAPSHOT_CATEGORIES = frozenset({"security", "conduct"})  # never for identity or audio


def category_of(event_type: str) -> str | None:
    """The category an event type belongs to (None for informational events)."""
    return _BY_TYPE.get(event_type)
