"""``camera_obstructed``: the camera cannot be trusted to show the desk for
``min_obstructed_s``: dark, blank, covered, out of focus, turned or moved, frozen or looping.

The evidence has one 0/1 key per cause (``CAMERA_CAUSES``) and the measures behind them.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from deskwatch.perception.observation import CAMERA_CAUSES, Observation
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
        evidence = {cause: float(cause in cam.causes) for cause in CAMERA_CAUSES}
        evidence |= {
            "brightness": cam.brightness,
            "contrast": cam.contrast,
            "covered_share": cam.covered_share,
            "sharpness_ratio": cam.sharpness_ratio,
            "layout_match": cam.layout_match,
            "loop_period_s": cam.loop_period_s,
        }
        return Signal(1.0, evidence)

    return signal


def cause_words(evidence: Mapping[str, float]) -> str:
    """The causes a ``camera_obstructed`` event's evidence names, in plain words."""
    return ", ".join(words for cause, words in CAMERA_CAUSES.items() if evidence.get(cause))


RULE = RuleSpec(
    "camera_obstructed", CameraObstructedConfig, make_signal, needs=frozenset({Stage.CAMERA_HEALTH})
)
