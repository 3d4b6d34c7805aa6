"""``eating_drinking`` (off by default): food or drink at the mouth."""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class EatingConfig(RuleConfig):
    enabled: bool = False
    min_eating_s: float = Field(default=5.0, ge=0)
    min_confidence: float = Field(default=0.5, ge=0, le=1)

    @property
    def min_duration_s(self) -> float:
        return self.min_eating_s


def make_signal(config: EatingConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        c = obs.cues
        if c.eating < config.min_confidence:
            return None
        return Signal(c.eating, {"object": c.eating_object, "posture": c.eating_posture})

    return signal


RULE = RuleSpec(
    "eating_drinking",
    EatingConfig,
    make_signal,
    needs=frozenset({Stage.FACE, Stage.HANDS, Stage.OBJECTS}),
)
