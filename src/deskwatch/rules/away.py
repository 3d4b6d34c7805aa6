"""``away``: nobody at the desk for ``min_away_s``; ends when back for ``end_grace_s``."""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class AwayConfig(RuleConfig):
    min_away_s: float = Field(default=30.0, ge=0, description="no person for this long")

    @property
    def min_duration_s(self) -> float:
        return self.min_away_s


def make_signal(config: AwayConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        # An obstructed camera cannot tell presence: that is camera_obstructed's event.
        if obs.person_count > 0 or (obs.camera is not None and obs.camera.obstructed):
            return None
        return Signal(1.0, {"faces": 0.0, "motion": obs.motion.fraction})

    return signal


RULE = RuleSpec(
    "away",
    AwayConfig,
    make_signal,
    needs=frozenset({Stage.CAMERA_HEALTH, Stage.FACE, Stage.OBJECTS}),
)
