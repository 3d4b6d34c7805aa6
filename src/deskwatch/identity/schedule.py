"""When the next identity check is due, in source seconds: pure, every time passed in.

A check is due at shift start (the first frame), after each return from ``away`` and
``every_min`` minutes after the last one started. Source seconds run on across camera
re-opens (whose frame times restart): ``SourceClock`` adds the sessions up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SourceClock:
    """Source seconds since the agent started, across camera re-opens (whose ts restart)."""

    base: float = 0.0
    last: float | None = None
    restarted: bool = False

    def tick(self, ts: float, new_session: bool = False) -> float:
        self.restarted = self.last is not None and (new_session or ts <= self.last)
        if self.restarted and self.last is not None:
            self.base += self.last
        self.last = ts
        return self.base + ts

    def now_s(self, ts: float) -> float:
        """Source seconds of frame time ``ts`` in the current session."""
        return self.base + ts


@dataclass
class Schedule:
    """The source second the next check is due at (0: at the first frame, whatever it is)."""

    due_at_s: float = 0.0

    def take(self, now_s: float, every_min: float) -> bool:
        """True if a check is due at ``now_s``; the next one is then due ``every_min`` later."""
        if now_s < self.due_at_s:
            return False
        self.due_at_s = now_s + every_min * 60
        return True

    def back_at_desk(self, now_s: float) -> None:
        """An ``away`` ended: a check is due now unless one is due sooner."""
        self.due_at_s = min(self.due_at_s, now_s)

    def at(self, now_s: float) -> None:
        """A check is due at ``now_s`` (after an enrolment, a re-open, a decline)."""
        self.due_at_s = now_s

    def at_first_frame(self) -> None:
        """Due at the next frame, whatever its source time (after a pause)."""
        self.due_at_s = 0.0
