"""What the agent is doing, as the worker's page and the heartbeat say it: a status, a note
on the source, and each running detector's last value in plain words (numbers, never
pictures)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from deskwatch.events.event import Event
from deskwatch.perception.observation import Observation
from deskwatch.perception.registry import spec_of

ROOM_AUDIO = "room_audio"  # the page's row for the microphone (not a video detector)


@dataclass(frozen=True)
class DetectorView:
    """One detector's row on the worker's page."""

    state: str  # "on" or "off"
    last: str  # its last value, or why it is off, in plain words
    ran: bool | None = None  # whether it ran on the last analysed frame (None: not running)


def describe(obs: Observation, keys: list[str]) -> dict[str, DetectorView]:
    """Each running detector's last value in its own words (its module's ``describe``),
    and the room's levels when audio is analysed."""
    rows = {
        k: DetectorView("on", spec_of(k).describe(obs) or "no reading yet", k in obs.stages)
        for k in keys
    }
    if obs.audio is not None:  # levels only: the sound itself is already gone
        a = obs.audio
        last = f"room at {a.floor_dbfs:.0f} dBFS, {a.speech_ratio:.0%} speech"
        rows[ROOM_AUDIO] = DetectorView("on", last, True)
    return rows


@dataclass(frozen=True)
class LoopView:
    """What the frame loop last published for the page (a frozen copy, read by any thread)."""

    status: str
    source_note: str
    detectors: dict[str, DetectorView]
    frames: int
    recent_events: tuple[str, ...]
    self_check: dict[str, object]


@dataclass
class Status:
    """The loop's own state; only the loop's thread changes it (``view`` is for others)."""

    status: str = "online"  # until the camera is open and the pipeline runs
    source_note: str = ""
    detectors: dict[str, DetectorView] = field(default_factory=dict)
    frames: int = 0
    recent_events: deque[str] = field(default_factory=lambda: deque(maxlen=10))
    self_check: dict[str, object] = field(default_factory=dict)  # the last result
    open_types: set[str] = field(default_factory=set)

    def set(self, status: str) -> bool:
        """Change the status; True if it changed (the heartbeat should go at once)."""
        changed, self.status = status != self.status, status
        return changed

    def track(self, events: list[Event], present: str) -> bool:
        """Note events (and which stay open); the status they imply, ``present`` when none
        does. True if the status changed."""
        for event in events:
            self.recent_events.append(event.model_dump_json())
            if event.is_open:
                self.open_types.add(event.type)
            else:
                self.open_types.discard(event.type)
        if "camera_obstructed" in self.open_types:
            return self.set("camera_problem")
        if "away" in self.open_types:
            return self.set("away")
        return self.set(present)

    def view(self) -> LoopView:
        return LoopView(
            self.status,
            self.source_note,
            dict(self.detectors),
            self.frames,
            tuple(self.recent_events),
            dict(self.self_check),
        )
