"""``camera_obstructed``: covered, dark, uniform or frozen for ``min_obstructed_s``."""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class CameraObstructedConfig(RuleConfig):
    min_obstructed_s: float = Field(default=5.0, ge=0)
    end_grace_s: float = Field(default=2.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_obstructed_s


def make_signal(config: CameraObstructedConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        cam = obs.camera
        if cam is None or not cam.obstructed:
            return None
        evidence = {
            "brightness": cam.brightness,
            "contrast": cam.contrast,
            "dark": float(cam.dark),
            "uniform": float(cam.uniform),
            "frozen": float(cam.frozen),
        }
        return Signal(1.0, evidence)

    return signal


RULE = RuleSpec(
    "camera_obstructed", CameraObstructedConfig, make_signal, needs=frozenset({Stage.CAMERA_HEALTH})
)
