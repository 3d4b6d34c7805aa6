"""Monitoring categories: what each is for, its legal basis, and which rules and detectors
serve it. Shared by the agent (to switch detectors off) and the server (settings, reviews,
retention, the DPIA)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from deskwatch.config import Policy

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

# Which detectors each rule reads, exactly (each rule's signal, perception/fusion.py and the
# pipeline's carry-over; tests/test_privacy_restrict.py checks each set is sufficient and
# that every member matters). Hands cues and a phone or eating posture count only with a
# face; eating reads the hand at the mouth and food or drink, never the head.
RULE_NEEDS: dict[str, frozenset[str]] = {
    "away": frozenset({"camera_health", "face", "objects"}),
    "phone_in_use": frozenset({"face", "face_mesh", "hands", "objects"}),
    "extra_person": frozenset({"face", "objects"}),
    "camera_obstructed": frozenset({"camera_health"}),
    "looking_away": frozenset({"face", "face_mesh"}),
    "eating_drinking": frozenset({"face", "hands", "objects"}),
    "background_noise": frozenset(),
    "other_voice": frozenset({"face", "face_mesh"}),
}
# Rules that read room audio: where none is analysed (an agent started without --audio)
# they cannot fire, so ``restrict`` switches them off and builds nothing for them.
AUDIO_RULES = frozenset({"background_noise", "other_voice"})

_BY_TYPE = {t: c.key for c in CATEGORIES.values() for t in c.event_types}
REVIEWED_TYPES = frozenset(t for c in CATEGORIES.values() for t in c.reviewed_types)
SNAPSHOT_CATEGORIES = frozenset({"security", "conduct"})  # never for identity or audio


def category_of(event_type: str) -> str | None:
    """The category an event type belongs to (None for informational events)."""
    return _BY_TYPE.get(event_type)


def rules_of(key: str) -> tuple[str, ...]:
    """The rules (named as their events) that serve category ``key``."""
    category = CATEGORIES.get(key)
    return () if category is None else tuple(t for t in category.event_types if t in RULE_NEEDS)


def detectors_for(key: str) -> frozenset[str]:
    """Every detector the rules of category ``key`` read."""
    return frozenset(d for rule in rules_of(key) for d in RULE_NEEDS[rule])


def restrict(policy: Policy, off: Iterable[str], *, audio: bool = False) -> Policy:
    """The policy with the rules of the ``off`` categories disabled (unknown keys name no
    rule here), every detector that no remaining rule reads disabled too (so no frame ever
    reaches it), and the identity check off unless its category is on. Without ``audio``
    the rules that read room audio are off as well: they could never fire."""
    off = set(off)
    dropped = {rule for key in off for rule in rules_of(key)}
    if not audio:
        dropped |= AUDIO_RULES
    rules = policy.rules.model_copy(
        update={
            name: getattr(policy.rules, name).model_copy(update={"enabled": False})
            for name in sorted(dropped)
        }
    )
    needed: set[str] = set()
    for name in RULE_NEEDS:
        if getattr(rules, name).enabled:
            needed |= RULE_NEEDS[name]
    detectors = {
        key: cfg if cfg.type in needed else cfg.model_copy(update={"enabled": False})
        for key, cfg in policy.detectors.items()
    }
    update: dict[str, object] = {"rules": rules, "detectors": detectors}
    if "identity" in off:  # no consent, or withdrawn: no identity check of any kind
        update["identity"] = policy.identity.model_copy(update={"enabled": False})
    return policy.model_copy(update=update)
