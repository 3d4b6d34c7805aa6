"""``looking_away``: head and eyes turned beyond ``max_yaw_deg`` for ``min_looking_away_s``.

Only yaw counts: looking down at notes or a keyboard (pitch) never fires on its own.
"""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class LookingAwayConfig(RuleConfig):
    max_yaw_deg: float = Field(default=45.0, gt=0, le=90)
    min_looking_away_s: float = Field(default=20.0, ge=0)
    end_grace_s: float = Field(default=2.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_looking_away_s


def make_signal(config: LookingAwayConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        head = obs.head
        if head is None or obs.face_count == 0:
            return None
        yaw = head.gaze_yaw_deg
        if abs(yaw) <= config.max_yaw_deg:
            return None
        conf = min(1.0, 0.5 + (abs(yaw) - config.max_yaw_deg) / 30.0)
        evidence = {"gaze_yaw_deg": yaw, "head_yaw_deg": head.yaw_deg, "pitch_deg": head.pitch_deg}
        return Signal(conf, evidence)

    return signal


RULE = RuleSpec(
    "looking_away", LookingAwayConfig, make_signal, needs=frozenset({Stage.FACE, Stage.FACE_MESH})
)
