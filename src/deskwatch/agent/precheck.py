"""The pre-shift self-check in the agent: when it is due, and what its result changes.

Due when the camera first opens (if the agent was started with ``--self-check``) and when
the worker asks from the page. A failed check marks the worker's events low-confidence for
reviewers until a check passes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from deskwatch.agent.control import Control
from deskwatch.agent.session import CameraSession
from deskwatch.checks.selfcheck import SelfCheckResult, run_self_check
from deskwatch.events.event import Event


class PreShiftCheck:
    """Whether a check is due, the last result, and whether events are low-confidence."""

    def __init__(self, *, at_start: bool, seconds: float) -> None:
        self.pending = at_start
        self.seconds = seconds
        self.low_confidence = False  # set after a failed check, cleared by a passed one

    def due(self, control: Control) -> bool:
        return self.pending or control.take_check_request()

    def run(
        self, session: CameraSession, interrupted: Callable[[], bool]
    ) -> SelfCheckResult | None:
        """Check the next ``seconds`` of frames. None if ``interrupted`` first (paused: due
        again later); StopIteration or SourceError if the camera failed (due again too)."""
        self.pending = True
        frames = session.read_for(self.seconds, interrupted)
        if frames is None:
            return None
        self.pending = False
        result = run_self_check(frames)
        self.low_confidence = not result.passed
        return result


def check_event(result: SelfCheckResult) -> Event:
    """The one ``self_check`` event (numbers only), stamped now."""
    now = datetime.now(UTC)
    return result.to_event().model_copy(update={"started_at": now, "ended_at": now})
