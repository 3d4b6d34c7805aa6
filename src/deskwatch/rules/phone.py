"""``phone_in_use``: a phone held, at the ear, or handled with the head down."""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class PhoneConfig(RuleConfig):
    min_phone_s: float = Field(default=3.0, ge=0)
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    end_grace_s: float = Field(default=2.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_phone_s


def make_signal(config: PhoneConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        c = obs.cues
        if c.phone < config.min_confidence:
            return None
        return Signal(c.phone, {"object": c.phone_object, "posture": c.phone_posture})

    return signal


RULE = RuleSpec(
    "phone_in_use",
    PhoneConfig,
    make_signal,
    needs=frozenset({Stage.FACE, Stage.FACE_MESH, Stage.HANDS, Stage.OBJECTS}),
)
