"""The open face check's or enrolment's window and its models: built at the run's first
frame and closed by the frame's caller (the loop's thread), also for a run cancelled from
the page's thread in between, which is only set aside until then."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deskwatch.identity.check import FaceWindow, IdentityResult, Method, Outcome
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.extra import IdentityUnavailableError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(eq=False)
class FaceRun:
    """An open face check or enrolment: its window (models built at its first frame) and,
    for a check, the template, loaded once the passive part ends."""

    enrolling: bool
    started_ts: float  # frame time it started at
    window: FaceWindow | None = None
    template: NDArray[np.float32] | None = None

    def unverified(
        self, ts: float, reason: str, *, asked_since: float | None = None
    ) -> IdentityResult:
        """Its result when it ends at ``ts`` before deciding (``asked_since``: when its
        challenge began, if it did)."""
        used = None if asked_since is None else max(0.0, ts - asked_since)
        start = min(self.started_ts, ts)
        return IdentityResult(
            Outcome.UNVERIFIED, Method.FACE, start, ts, reasons=(reason,), challenge_s=used
        )

    def close(self) -> None:
        self.template = None
        if self.window is not None:
            self.window.close()
            self.window = None


@dataclass(frozen=True)
class Feed:
    """The open run's window, to be given a frame (outside the hook's lock)."""

    run: FaceRun
    window: FaceWindow


@dataclass
class FaceRuns:
    """At most one open run, and the cancelled ones whose models are still to be closed."""

    open: FaceRun | None = None
    cancelled: list[FaceRun] = field(default_factory=list)

    def start(self, *, enrolling: bool, ts: float) -> None:
        self.open = FaceRun(enrolling, ts)

    def feed(self, config: IdentityConfig) -> Feed | None:
        """The open run's window, its models built now if needed (cancelled runs' closed);
        IdentityUnavailableError, and no run open, if the models cannot be built."""
        self.close_cancelled()
        run = self.open
        if run is None:
            return None
        if run.window is None:
            try:
                run.window = open_window(config, enrolling=run.enrolling)
            except IdentityUnavailableError:
                self.open = None
                raise
        return Feed(run, run.window)

    def is_current(self, feed: Feed) -> bool:
        """``feed`` is still the open run's (not cancelled, not dropped since)."""
        return feed.run is self.open and feed.run.window is feed.window

    def end(self) -> None:
        """The open run is over: its models closed now."""
        if self.open is not None:
            self.open.close()
        self.open = None

    def cancel(self) -> FaceRun | None:
        """The open run ends now (its template forgotten); the models go at the next frame."""
        run, self.open = self.open, None
        if run is not None:
            run.template = None
            self.cancelled.append(run)
        return run

    def drop(self) -> None:
        """Close every model: cancelled runs', and the open run's (rebuilt at its next frame)."""
        self.close_cancelled()
        if self.open is not None:
            self.open.close()

    def close_cancelled(self) -> None:
        for run in self.cancelled:
            run.close()
        self.cancelled.clear()

    def asked_since(self) -> float | None:
        """When the open check began asking for a cue (frame time); None if it has not."""
        run = self.open
        if run is None or run.enrolling or run.window is None:
            return None
        return run.window.challenge_from_s

    def challenge_left_s(self, ts: float) -> float | None:
        """Seconds of frame time the open check still asks for a cue at ``ts`` (None: none)."""
        since = self.asked_since()
        if since is None or self.open is None or self.open.window is None:
            return None
        return max(0.0, since + self.open.window.config.challenge_s - ts)


def open_window(config: IdentityConfig, *, enrolling: bool) -> FaceWindow:
    """A check's or an enrolment's window with its models."""
    from deskwatch.identity.check import check_window
    from deskwatch.identity.enrolment import enrolment_window

    return enrolment_window(config) if enrolling else check_window(config)
