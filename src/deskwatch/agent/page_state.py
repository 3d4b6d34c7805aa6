"""The worker's page as data: a frozen ``PageState`` the runner composes on request from what
its loop last published and what its thread-safe parts say now (pause, outbox, uploads,
policy, stills, identity). The local page serves it as ``/state.json``, and its plain-words
``view`` (what the page, its script and the tray app show) as ``/view.json``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deskwatch.agent import words
from deskwatch.agent.control import PAUSE, RESUME
from deskwatch.agent.status import ROOM_AUDIO, DetectorView, LoopView
from deskwatch.privacy.restrict import detectors_for, rules_of
from deskwatch.rules.registry import AUDIO_RULES

if TYPE_CHECKING:
    from deskwatch.agent.control import PauseState
    from deskwatch.agent.outbox import Level
    from deskwatch.agent.policy import Current
    from deskwatch.transport.uploader import UploadStats


@dataclass(frozen=True)
class CategoryRow:
    title: str
    purpose: str
    state: str  # what this PC does for it, in plain words


@dataclass(frozen=True)
class WatchedRow:
    what: str  # what the check looks at
    why: str  # the categories it serves, or why it does not run
    now: str  # what it saw last, in plain words
    on: bool


@dataclass(frozen=True)
class OutboxRow:
    length: int
    capacity: int
    warning: str | None


@dataclass(frozen=True)
class PageState:
    """Everything the worker's page shows: words and numbers, never a picture."""

    status: str
    paused_for_s: float | None
    source: str
    detectors: dict[str, DetectorView]
    outbox: OutboxRow
    uploads: dict[str, object]
    policy: dict[str, object]
    settings_known: bool
    last_sent: dict[str, str]
    recent_events: tuple[str, ...]
    self_check: dict[str, object]
    stills: dict[str, object]
    identity: dict[str, Any]
    categories: tuple[CategoryRow, ...]
    my_data: str
    watched: tuple[WatchedRow, ...] = ()

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Parts:
    """What the page state is made of, each read once from its owner."""

    loop: LoopView
    pause: PauseState
    current: Current
    outbox: Level
    uploads: UploadStats
    last_sent: dict[str, str]
    stills: dict[str, object]
    identity: dict[str, Any]
    audio_spec: str | None  # this PC was set up with room audio
    audio_open: bool
    server_url: str
    clock: str | None = None  # this PC's clock is wrong (ServerClock.problem)


def compose(p: Parts) -> PageState:
    """The page state from its parts; every sentence is true to what runs on this PC."""
    listens = p.audio_spec is not None
    detectors = _detectors(p)
    return PageState(
        status="paused" if p.pause.paused else p.loop.status,
        paused_for_s=p.pause.paused_for_s(),
        source=p.loop.source_note,
        detectors=detectors,
        outbox=OutboxRow(p.outbox.length, p.outbox.capacity, p.outbox.warning),
        uploads={"sent": p.uploads.sent, "last_error": p.uploads.last_error, "clock": p.clock},
        policy={"version": p.current.version, "note": p.current.note},
        settings_known=p.current.known,
        last_sent=dict(p.last_sent),
        recent_events=p.loop.recent_events,
        self_check=p.loop.self_check,
        stills=p.stills,
        identity=p.identity,
        categories=tuple(
            CategoryRow(c.title, c.purpose, words.category_state(c, p.current, listens=listens))
            for c in p.current.privacy.categories
        ),
        my_data=f"{p.server_url.rstrip('/')}/me",
        watched=_watched(p, detectors),
    )


def _watched(p: Parts, detectors: dict[str, DetectorView]) -> tuple[WatchedRow, ...]:
    """Each check in plain words: what it looks at, for which categories, what it saw."""
    on = [c for c in p.current.privacy.categories if c.on] if p.current.known else []
    rows = []
    for key, d in detectors.items():
        uses = [c.title for c in on if key in detectors_for(c.key) or _listens(key, c.key)]
        running = d.state == "on"
        if uses:  # a category that is on needs it (running, or paused, or not yet)
            why, now = "for " + ", ".join(uses), words.now_words(key, d, paused=p.pause.paused)
        elif running:
            why, now = "", words.now_words(key, d, paused=False)
        else:  # off: why it is off
            why, now = d.last, "off"
        rows.append(WatchedRow(words.watched_name(key), why, now, running))
    return tuple(rows)


def _listens(key: str, category: str) -> bool:
    return key == ROOM_AUDIO and bool(rules_of(category)) and set(rules_of(category)) <= AUDIO_RULES


def _detectors(p: Parts) -> dict[str, DetectorView]:
    """A row for every detector in the policy (running or why not), and the microphone's."""
    running = p.loop.detectors
    rows = {
        c.type: running.get(c.type) or DetectorView("off", words.why_off(c.type, p.current))
        for c in p.current.policy.detectors.values()
    }
    if p.audio_spec is not None:
        rows[ROOM_AUDIO] = words.room_audio(running, open_now=p.audio_open)
    return rows


SENT = {
    "heartbeat": "Status update (no pictures)",
    "events": "Events",
    "snapshot": "Evidence still (encrypted)",
}


def view(s: PageState, challenge_s: int | None) -> dict[str, Any]:
    """The page in plain words: what its script refreshes and the tray app shows. Raw bodies
    appear only under ``sent`` (exactly what left this PC)."""
    return {
        "paused": s.paused,
        "tone": s.status,
        "headline": _headline(s),
        "detail": _detail(s),
        "action": RESUME if s.paused else PAUSE,
        "button": "Resume monitoring" if s.paused else "Pause for a break",
        "waiting": not s.settings_known,
        "watched": [asdict(w) for w in s.watched],
        "categories": [asdict(c) for c in s.categories],
        "check": _check(s.self_check),
        "outbox": _outbox(s.outbox.length),
        "warnings": [w for w in (s.outbox.warning, _clock(s.uploads.get("clock"))) if w],
        "policy": f"Your team's settings: version {s.policy['version']} ({s.policy['note']})",
        "sent": [_sent(kind, body) for kind, body in s.last_sent.items()],
        "challenge": _challenge(s.identity, challenge_s),
        "section": _section_key(s),
    }


def _headline(s: PageState) -> str:
    if not s.settings_known and not s.paused:
        return words.WAITING
    return words.status_words(s.status)


def _challenge(identity: dict[str, Any], seconds: int | None) -> dict[str, Any] | None:
    return None if seconds is None else {"note": identity.get("note"), "seconds": seconds}


def _detail(s: PageState) -> str:
    if s.paused:
        since = "" if s.paused_for_s is None else f" for {words.duration(s.paused_for_s)}"
        return (
            f"Paused{since}. The camera is off and nothing is analysed; the server only "
            "learns that you are paused and for how long."
        )
    return s.source


def _check(check: dict[str, object]) -> dict[str, Any]:
    if not check:
        return {"summary": "Not run yet.", "tips": [], "low": False}
    passed = bool(check.get("passed"))
    tips = check.get("tips")
    return {
        "summary": "The last check passed." if passed else "The last check did not pass.",
        "tips": [str(t) for t in tips] if isinstance(tips, list) else [],
        "low": not passed,
    }


def _outbox(length: int) -> str:
    if length == 0:
        return "Nothing is waiting to be sent."
    return words.count(length, "event is", "events are") + " waiting to be sent."


def _clock(problem: object) -> str | None:
    return f"Clock problem: {problem}." if problem else None


def _sent(kind: str, body: str) -> dict[str, str]:
    """One kind of request as it left this PC, and when (from its own fields)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    return {"what": SENT.get(kind, kind.capitalize()), "when": _when(data), "body": _pretty(body)}


def _when(data: object) -> str:
    if not isinstance(data, dict):
        return ""
    if "sent_at" in data:
        return "sent at " + _clock_time(data["sent_at"])
    if "taken_at" in data:
        return "taken at " + _clock_time(data["taken_at"])
    events = [e for e in data.get("events") or [] if isinstance(e, dict)]
    # one agent's ISO times, all in UTC: the latest sorts last
    times = [str(e[k]) for e in events for k in ("ended_at", "started_at") if e.get(k)]
    return "the newest event in it: " + _clock_time(max(times)) if times else ""


def _clock_time(stamp: object) -> str:
    """An ISO time as this PC's local wall clock (the date too when it is not today)."""
    try:
        at = datetime.fromisoformat(str(stamp)).astimezone()
    except ValueError:
        return str(stamp)
    today = datetime.now().astimezone().date()
    return at.strftime("%H:%M:%S" if at.date() == today else "%d %b %Y %H:%M:%S")


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body


def _section_key(s: PageState) -> str:
    """Changes when the page's server-drawn parts (identity forms, stills, waiting) do: the
    script reloads the page then (never while a password is being typed)."""
    identity = {k: v for k, v in s.identity.items() if k != "challenge_left_s"}
    drawn = [identity, s.stills, s.settings_known]
    return hashlib.sha256(json.dumps(drawn, sort_keys=True, default=str).encode()).hexdigest()[:16]
