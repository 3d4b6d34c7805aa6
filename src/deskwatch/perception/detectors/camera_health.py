"""Camera health from frame statistics: covered/dark, uniform, out of focus, frozen."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from deskwatch import lazy
from deskwatch.perception.base import DetectorConfig
from deskwatch.perception.observation import CameraHealth, Observation
from deskwatch.perception.registry import DetectorSpec
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    import cv2

    from deskwatch.arrays import Image
    from deskwatch.capture.frame import Frame
else:
    cv2 = lazy.module("cv2")


class CameraHealthConfig(DetectorConfig):
    type: Literal["camera_health"] = "camera_health"
    dark_max_brightness: float = Field(default=30.0, ge=0, le=255)
    uniform_max_contrast: float = Field(default=8.0, ge=0)
    blurry_max_sharpness: float = Field(default=20.0, ge=0)


class CameraHealthDetector:
    """Brightness, contrast, sharpness and frozen-frame checks on a thumbnail."""

    key: ClassVar[str] = "camera_health"

    def __init__(self, config: CameraHealthConfig) -> None:
        self._config = config
        self._previous: Image | None = None

    def measure(self, grey: Image) -> CameraHealth:
        c = self._config
        brightness = float(grey.mean())
        contrast = float(grey.std())
        sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        frozen = self._previous is not None and np.array_equal(grey, self._previous)
        self._previous = grey
        return CameraHealth(
            brightness=brightness,
            contrast=contrast,
            sharpness=sharpness,
            dark=brightness < c.dark_max_brightness,
            uniform=contrast < c.uniform_max_contrast,
            blurry=sharpness < c.blurry_max_sharpness,
            frozen=frozen,
        )

    def detect(self, frame: Frame, obs: Observation) -> None:
        obs.camera = self.measure(frame.thumbnail())

    def close(self) -> None:
        self._previous = None


def describe(obs: Observation) -> str | None:
    cam = obs.camera
    if cam is None:
        return None
    flags = {"dark": cam.dark, "uniform": cam.uniform, "blurry": cam.blurry, "frozen": cam.frozen}
    problems = [name for name, bad in flags.items() if bad]
    return "picture looks fine" if not problems else ", ".join(problems)


DETECTOR = DetectorSpec(
    stage=Stage.CAMERA_HEALTH,
    config=CameraHealthConfig,
    factory=CameraHealthDetector,
    output="camera",
    title="camera picture check",
    describe=describe,
)
