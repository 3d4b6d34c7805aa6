"""What the worker's page says about each category and detector, true to what runs here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskwatch.agent.status import ROOM_AUDIO, DetectorView
from deskwatch.config import Policy
from deskwatch.privacy.categories import CATEGORIES
from deskwatch.privacy.restrict import detectors_for, rules_of
from deskwatch.privacy.worker import WorkerCategory
from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS

if TYPE_CHECKING:
    from deskwatch.agent.policy import Current

NOT_YET = "off until your settings arrive from the server"


def category_state(category: WorkerCategory, current: Current, *, listens: bool) -> str:
    """What this PC does for one category, in plain words (true to what runs)."""
    if not current.known:
        return NOT_YET
    if category.key not in CATEGORIES:
        return "not known to this version of deskwatch: nothing of it runs here"
    if category.on:
        rules = rules_of(category.key)
        if rules and set(rules) <= AUDIO_RULES:
            return _listening(rules, current.policy, listens=listens)
        return "on" + (", with a blurred still at each event" if category.snapshot else "")
    why = "off for your team" if not category.enabled else "off: you objected"
    return f"{why}; {_what_is_off(category.key, current.policy)}"


def _listening(rules: tuple[str, ...], policy: Policy, *, listens: bool) -> str:
    if not listens:
        return "on for your team, but this PC is not set up to listen: nothing of it runs"
    if not any(policy.rules.of(r).enabled for r in rules):
        return "on, but its rules are switched off in your team's policy: nothing runs"
    return "on: the sound level and how much of it is speech, never the sound itself"


def room_audio(running: dict[str, DetectorView], *, open_now: bool) -> DetectorView:
    """The microphone's row: its last levels, or why it is closed."""
    if ROOM_AUDIO in running:
        return running[ROOM_AUDIO]
    if open_now:
        return DetectorView("on", "no reading yet")
    return DetectorView(
        "off",
        "closed: it opens only while the camera runs and a category that is on for you listens",
    )


def why_off(detector: str, current: Current) -> str:
    """Why a detector that exists in the policy is not running."""
    if not current.known:
        return NOT_YET
    if any(c.type == detector and c.enabled for c in current.policy.detectors.values()):
        return "not running"
    if any(detector in RULE_NEEDS[r] for r in current.policy.rules.enabled()):
        return "switched off in your team's policy"
    return "switched off: no category that is on for you uses it"


def _what_is_off(key: str, policy: Policy) -> str:
    """Which of the category's detectors are off on this PC, and which others still need."""
    needs = detectors_for(key)
    if not needs:
        return "nothing of it runs on this PC"
    configured = {c.type for c in policy.detectors.values()}
    running = {c.type for c in policy.detectors.values() if c.enabled}
    off, shared = sorted((needs & configured) - running), sorted(needs & running)
    words = "its rules do not run"
    if off:
        words += f"; detectors off on this PC: {', '.join(off)} (no frame reaches them)"
    if shared:
        words += f"; still running for other categories that are on: {', '.join(shared)}"
    return words
