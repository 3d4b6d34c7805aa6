"""The cheap stage that spends the CPU budget: motion first, then only what can matter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from deskwatch.arrays import Image, as_image
from deskwatch.gating.config import AnalysisConfig
from deskwatch.gating.view import GateView
from deskwatch.perception.observation import Box, Motion, Observation

if TYPE_CHECKING:
    from deskwatch.capture.frame import Frame
    from deskwatch.perception.registry import DetectorSpec

# Grey-level change that counts a thumbnail pixel as moved.
_PIXEL_DELTA = 18
# Around the face: a face width to each side, down to the chest (hands, phone, cup).
_FACE_REGION = (1.0, 0.5, 1.0, 2.5)

# Source timestamps are frame index / fps: compare them with a little slack.
_TIME_TOLERANCE_S = 1e-3


class Gate:
    """Measures motion and says which detectors run on the current frame.

    A detector without a gating condition runs on every analysed frame (camera health, face
    detection); every other runs when its own condition holds (see each detector's module)
    or at the forced full check every ``full_check_every_s`` seconds, so a still scene is
    still verified.
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

    def wants(self, spec: DetectorSpec, obs: Observation, prev: Observation | None) -> bool:
        """Whether the detector ``spec`` declares should run now, given the observation so far."""
        if spec.gating is None or self.full:
            return True
        return spec.gating(GateView(obs, prev, self._config))


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
