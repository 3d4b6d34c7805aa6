"""Windowed evidence: a rule that fires on how often its signal held over a window.

``SustainedRule`` needs its signal on every frame (a gap longer than ``end_grace_s`` resets
it). A detector that misses the object on one frame in three, or finds it on one stray
frame, needs evidence accumulated over the window instead: ``EvidenceRule`` fires once the
signal has held on a share of the analysed frames of its last ``min_duration_s``. It ends
as a sustained rule does, once the signal is gone for ``end_grace_s``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import Field

from deskwatch.events.event import Event, EventType
from deskwatch.perception.observation import Observation
from deskwatch.rules.base import RuleConfig, Signal, SignalFn, close_event, lapse, open_event

# Frame times are sums of float steps: a frame this close to the window's edge is inside.
_EDGE_S = 1e-6


class EvidenceConfig(RuleConfig):
    """A windowed rule's evidence: the share of analysed frames of its window (its last
    ``min_duration_s``) on which the signal must hold, and how many frames it needs."""

    min_evidence_share: float = Field(default=0.7, gt=0, le=1)
    min_window_frames: int = Field(default=3, ge=1)


@dataclass
class EvidenceRule:
    """Fires once ``signal`` has held on ``min_share`` of the frames of the last ``window_s``
    (at least ``min_frames`` frames), ``window_s`` or more after it first held; ends once it
    is gone for ``grace_s``.

    One or two missed frames inside the window neither reset a pending start nor stop it
    firing on time; a few isolated frames never make the share. The event starts at the
    first frame of the window that fired it on which the signal held, and ends when the
    signal first stopped holding. ``origin`` maps source seconds to wall-clock time.
    """

    event_type: EventType
    signal: SignalFn
    window_s: float
    min_share: float
    min_frames: int
    grace_s: float
    origin: datetime | None = None
    _frames: deque[tuple[float, bool]] = field(default_factory=deque)  # (ts, held) in window
    _since: float | None = None  # the first frame it held on since it was last gone
    _first_false: float | None = None
    _open: Event | None = None
    _peak: Signal | None = None

    def update(self, obs: Observation, ts: float) -> list[Event]:
        sig = self.signal(obs)
        self._remember(ts, sig is not None)
        out = self._lapses(ts) if sig is None else self._holds(sig)
        if self._open is None and self._evident(ts):
            assert self._peak is not None
            self._open = open_event(self.event_type, self._start(), self._peak, self.origin)
            out.append(self._open)
        return out

    def flush(self, ts: float) -> list[Event]:
        """End any open event at ``ts`` (end of the source)."""
        out = [] if self._open is None else [self._close(self._first_false or ts)]
        self._reset()
        self._frames.clear()
        return out

    def share(self) -> float:
        """The share of the window's frames on which the signal held (0 with none)."""
        held = sum(h for _, h in self._frames)
        return held / len(self._frames) if self._frames else 0.0

    def _remember(self, ts: float, held: bool) -> None:
        self._frames.append((ts, held))
        while self._frames[0][0] < ts - self.window_s - _EDGE_S:
            self._frames.popleft()

    def _holds(self, sig: Signal) -> list[Event]:
        ts = self._frames[-1][0]
        if self._since is None:
            self._since = ts
        self._first_false = None
        if self._peak is None or sig.confidence >= self._peak.confidence:
            self._peak = sig
        return []

    def _lapses(self, ts: float) -> list[Event]:
        return lapse(self, ts)

    def _evident(self, ts: float) -> bool:
        if self._since is None or ts - self._since < self.window_s - _EDGE_S:
            return False
        return len(self._frames) >= self.min_frames and self.share() >= self.min_share

    def _start(self) -> float:
        assert self._since is not None
        held = [t for t, h in self._frames if h and t >= self._since]
        return held[0] if held else self._since

    def _close(self, end_s: float) -> Event:
        assert self._open is not None and self._peak is not None
        return close_event(self._open, end_s, self._peak)

    def _reset(self) -> None:
        self._since = self._first_false = None
        self._open = self._peak = None


def windowed(
    event_type: EventType, signal: SignalFn, config: EvidenceConfig, origin: datetime | None
) -> EvidenceRule:
    """A ``RuleSpec`` debounce: evidence over the config's ``min_duration_s``."""
    return EvidenceRule(
        event_type,
        signal,
        config.min_duration_s,
        config.min_evidence_share,
        config.min_window_frames,
        config.end_grace_s,
        origin,
    )
