"""What a detector's gating condition may look at when the gate asks whether it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deskwatch.gating.config import AnalysisConfig
from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage


@dataclass(frozen=True, slots=True)
class GateView:
    """This frame's observation so far (the stages before this one have run), the previous
    frame's, and the analysis settings, with the questions gating conditions ask."""

    obs: Observation
    prev: Observation | None
    config: AnalysisConfig

    @property
    def face_present(self) -> bool:
        return self.obs.face_count > 0

    @property
    def moved(self) -> bool:
        """Something moved anywhere in the picture."""
        return self.obs.motion.fraction > self.config.motion_threshold

    @property
    def moved_near_face(self) -> bool:
        """Something moved around the face (a face width to each side, down to the chest)."""
        return self.obs.motion.near_face > self.config.face_motion_threshold

    @property
    def speech(self) -> bool:
        """Speech in the room (the other_voice rule needs to see whether the mouth moves)."""
        return self.obs.audio is not None and self.obs.audio.speech_ratio > 0

    @property
    def live_cue(self) -> bool:
        """A phone or eating cue, or a raised hand, was seen on the previous frame."""
        prev = self.prev
        if prev is None:
            return False
        c = prev.cues
        return c.phone > 0 or c.eating > 0 or (prev.hands is not None and prev.hands.count > 0)

    def ran(self, stage: Stage) -> bool:
        """Whether ``stage`` ran on this frame (it comes earlier in the order)."""
        return stage in self.obs.stages


# A detector's gating condition: whether it runs on a frame that is not a full check.
Gating = Callable[[GateView], bool]
