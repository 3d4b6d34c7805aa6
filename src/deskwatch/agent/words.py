"""What the worker's page says about each category and detector, true to what runs here, in
plain words: what is watched and why, never a detector's name or its raw readings."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
PAUSED = "paused: nothing is analysed"

# What each check looks at, as the worker's page names it.
WATCHED = {
    "camera_health": "the camera picture (covered, dark or moved)",
    "face": "whether your face is in view",
    "face_mesh": "which way your head is turned",
    "hands": "where your hands are",
    "objects": "phones, drinks, food, paper and other people",
    ROOM_AUDIO: "how loud the room is and how much of it is speech",
}
STATUS = {
    "at_desk": "You are at your desk",
    "away": "You seem to be away from your desk",
    "camera_problem": "The camera has a problem",
    "online": "Running",
    "paused": "Paused — nothing is being analysed",
    "offline": "Not connected",
}
WAITING = "Waiting for your settings — nothing is analysed yet"
SEEN = 0.5  # a score from here on is "seen" (the phone rule's default confidence)


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
        words += f"; not looked at on this PC: {_names(off)} (no picture reaches these checks)"
    if shared:
        words += f"; still looked at for other categories that are on: {_names(shared)}"
    return words


def _names(keys: Sequence[str]) -> str:
    return "; ".join(watched_name(k) for k in keys)


def watched_name(key: str) -> str:
    """What a detector looks at, in plain words."""
    return WATCHED.get(key, "another check of the camera picture")


def status_words(status: str) -> str:
    return STATUS.get(status, status.replace("_", " ").capitalize())


def duration(seconds: float) -> str:
    """45 s -> "less than a minute", 750 s -> "12 min", 3900 s -> "1 h 05 min"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def count(n: int, one: str, many: str) -> str:
    """1 -> "1 event", 2 -> "2 events" (never "event(s)")."""
    return f"{n} {one if n == 1 else many}"


def now_words(key: str, view: DetectorView, *, paused: bool) -> str:
    """What a check saw last, in plain words (or why it does not run)."""
    if paused:
        return PAUSED
    if view.state != "on":
        return view.last
    for pattern, say in _READINGS.get(key, ()):
        found = pattern.fullmatch(view.last)
        if found:
            return say(found)
    return "no reading yet" if view.last == "no reading yet" else "running"


def _faces(m: re.Match[str]) -> str:
    n = int(m[1])
    return {0: "no face in view", 1: "your face is in view"}.get(n, f"{n} faces in view")


def _head(m: re.Match[str]) -> str:
    deg = abs(int(m[1]))
    return "you face the screen" if deg < 10 else f"your head is turned about {deg}° to the side"


def _hands(m: re.Match[str]) -> str:
    n = int(m[1])
    return {0: "no hands in view", 1: "one hand in view", 2: "both hands in view"}.get(
        n, f"{n} hands in view"
    )


def _objects(m: re.Match[str]) -> str:
    said = [_phone(float(m[1]), held=float(m[2]))]
    seen = (("a drink", m[3]), ("food", m[4]), ("paper", m[5]))
    said += [f"{what} seen" for what, score in seen if float(score) >= SEEN]
    people = int(m[6])
    if people > 1:
        said.append(f"{people} people in view")
    return ", ".join(said)


def _phone(score: float, *, held: float) -> str:
    if held >= SEEN:
        return "a phone in your hand"
    return "a phone seen" if score >= SEEN else "no phone seen"


def _camera(m: re.Match[str]) -> str:
    return "camera check: fine" + (" (still learning the usual view)" if m[1] else "")


def _loudness(m: re.Match[str]) -> str:
    floor = int(m[1])
    level = "loud" if floor >= -30 else "some noise" if floor >= -50 else "quiet"
    return f"the room is {level}; speech {m[2]}% of the time (levels only, never the sound)"


_Reading = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_NUMBER = r"([\d.]+)"
_READINGS: dict[str, tuple[_Reading, ...]] = {
    # each detector's own describe(), read back: tests/agent/test_local_page.py holds both
    "face": ((re.compile(r"(\d+) face\(s\) in view"), _faces),),
    "face_mesh": ((re.compile(r"head turned ([+-]?\d+)° sideways"), _head),),
    "hands": ((re.compile(r"(\d+) hand\(s\) in view"), _hands),),
    "objects": (
        (
            re.compile(
                rf"phone {_NUMBER} \(held {_NUMBER}\), drink {_NUMBER}, food {_NUMBER}, "
                rf"paper {_NUMBER}, (\d+) person\(s\)"
            ),
            _objects,
        ),
    ),
    "camera_health": (
        (re.compile(r"picture looks fine( \(learning the usual view\))?"), _camera),
        (re.compile(r"(.+)"), lambda m: f"camera check: {m[1]}"),
    ),
    ROOM_AUDIO: ((re.compile(r"room at (-?\d+) dBFS, (\d+)% speech"), _loudness),),
}
