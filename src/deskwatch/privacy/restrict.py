"""A policy restricted to the worker's categories: what is off never runs on the PC."""

from __future__ import annotations

from collections.abc import Iterable

from deskwatch.config import Policy
from deskwatch.perception.stage import Stage
from deskwatch.privacy.categories import CATEGORIES
from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS


def rules_of(key: str) -> tuple[str, ...]:
    """The rules (named as their events) that serve category ``key``."""
    category = CATEGORIES.get(key)
    return () if category is None else tuple(t for t in category.event_types if t in RULE_NEEDS)


def detectors_for(key: str) -> frozenset[Stage]:
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
            name: policy.rules.of(name).model_copy(update={"enabled": False})
            for name in sorted(dropped)
        }
    )
    needed = {d for name in rules.enabled() for d in RULE_NEEDS[name]}
    detectors = {
        key: cfg if cfg.type in needed else cfg.model_copy(update={"enabled": False})
        for key, cfg in policy.detectors.items()
    }
    update: dict[str, object] = {"rules": rules, "detectors": detectors}
    if "identity" in off:  # no consent, or withdrawn: no identity check of any kind
        update["identity"] = policy.identity.model_copy(update={"enabled": False})
    return policy.model_copy(update=update)
