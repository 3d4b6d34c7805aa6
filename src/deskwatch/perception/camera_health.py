"""Camera health from frame statistics: covered/dark, uniform, out of focus, frozen."""

from __future__ import annotations

from typing import ClassVar, Literal

import cv2
import numpy as np
from pydantic import Field

from deskwatch.arrays import Image
from deskwatch.capture.frame import Frame
from deskwatch.perception.base import DetectorConfig, register
from deskwatch.perception.observation import CameraHealth, Observation


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


@register("camera_health", CameraHealthConfig)
def _create(config: CameraHealthConfig) -> CameraHealthDetector:
    return CameraHealthDetector(config)
