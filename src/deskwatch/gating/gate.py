"""The cheap stage that spends the CPU budget: motion first, then only what can matter."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from deskwatch.arrays import Image, as_image
from deskwatch.capture.frame import Frame
from deskwatch.config import AnalysisConfig
from deskwatch.perception.observation import Box, Motion, Observation

# Grey-level change that counts a thumbnail pixel as moved.
_PIXEL_DELTA = 18
# Around the face: a face width to each side, down to the chest (hands, phone, cup).
_FACE_REGION = (1.0, 0.5, 1.0, 2.5)

# Source timestamps are frame index / fps: compare them with a little slack.
_TIME_TOLERANCE_S = 1e-3

ALWAYS = frozenset({"camera_health", "face"})


class Gate:
    """Measures motion and says which detectors run on the current frame.

    Face detection and camera health run on every analysed frame. Face mesh, hands and
    objects run only when a face is present and something moved near it (objects also
    when hands are up), while a cue they feed is live (face mesh also while speech is
    heard), or at the forced full check every
    ``full_check_every_s`` seconds, so a still scene is still verified. Without a face,
    only the object detector (a person detector) runs, and only on motion.
    """

    def __init__(self, config: AnalysisConfig) -> None:
        self._config = config
        self._previous: Image | None = None
        self._last_full: float | None = None
        self.full = True

    def measure(self, frame: Frame, prev: Observation | None) -> Motion:
        """Motion since the last analysed frame; also decides whether this is a full check."""
        grey = as_image(cv2.GaussianBlur(frame.thumbnail(), (5, 5), 0))
        moved = np.zeros(grey.shape, dtype=bool)
        if self._previous is not None and self._previous.shape == grey.shape:
            moved = cv2.absdiff(grey, self._previous) > _PIXEL_DELTA
        self._previous = grey
        period = self._config.full_check_every_s - _TIME_TOLERANCE_S
        due = self._last_full is None or frame.ts - self._last_full >= period
        self.full = bool(due)
        if self.full:
            self._last_full = frame.ts
        scale = grey.shape[1] / frame.width
        face = prev.main_face if prev is not None else None
        return Motion(float(moved.mean()), _share_near(moved, face, scale))

    def wants(self, key: str, obs: Observation, prev: Observation | None) -> bool:
        """Whether detector ``key`` should run now, given the observation so far."""
        if key in ALWAYS or self.full:
            return True
        if obs.face_count == 0:
            # Nobody's face: only a person detector can tell presence, and only change matters.
            return key == "objects" and obs.motion.fraction > self._config.motion_threshold
        moved = obs.motion.near_face > self._config.face_motion_threshold
        if key == "face_mesh":
            # Speech in the room: the other_voice rule needs to see whether the mouth moves.
            return moved or prev is None or prev.head is None or _speech(obs)
        if key == "hands":
            return moved or _live_cue(prev)
        if key == "objects":
            hands_up = obs.hands is not None and obs.hands.count > 0 and "hands" in obs.stages
            return moved or hands_up or _live_cue(prev)
        return True


def _share_near(moved: NDArray[np.bool_], face: Box | None, scale: float) -> float:
    if face is None or not moved.any():
        return float(moved.mean()) if face is None else 0.0
    left, up, right, down = _FACE_REGION
    x1 = max(0, int((face.x1 - left * face.width) * scale))
    y1 = max(0, int((face.y1 - up * face.height) * scale))
    x2 = int((face.x2 + right * face.width) * scale) + 1
    y2 = int((face.y2 + down * face.height) * scale) + 1
    region = moved[y1:y2, x1:x2]
    return float(region.mean()) if region.size else 0.0


def _speech(obs: Observation) -> bool:
    return obs.audio is not None and obs.audio.speech_ratio > 0


def _live_cue(prev: Observation | None) -> bool:
    """Keep tracking while a phone or eating cue, or a raised hand, was seen last time."""
    if prev is None:
        return False
    c = prev.cues
    return c.phone > 0 or c.eating > 0 or (prev.hands is not None and prev.hands.count > 0)
