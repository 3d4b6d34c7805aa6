"""The worker's page as data: a frozen ``PageState`` the runner composes on request from what
its loop last published and what its thread-safe parts say now (pause, outbox, uploads,
policy, stills, identity). The local page renders it and serves it as ``/state.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from deskwatch.agent import words
from deskwatch.agent.status import ROOM_AUDIO, DetectorView, LoopView

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
    return PageState(
        status="paused" if p.pause.paused else p.loop.status,
        paused_for_s=p.pause.paused_for_s(),
        source=p.loop.source_note,
        detectors=_detectors(p),
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
    )


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
