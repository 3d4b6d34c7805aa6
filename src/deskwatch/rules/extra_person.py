"""``extra_person``: ``min_persons`` or more people in view for ``min_extra_s``."""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class ExtraPersonConfig(RuleConfig):
    min_persons: int = Field(default=2, ge=2)
    min_extra_s: float = Field(default=5.0, ge=0)
    end_grace_s: float = Field(default=2.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_extra_s


def make_signal(config: ExtraPersonConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        n = obs.person_count
        if n < config.min_persons:
            return None
        scores = sorted(obs.faces.confidence.tolist(), reverse=True)
        # Confidence that there is an extra person: the weakest of the top faces.
        conf = scores[config.min_persons - 1] if len(scores) >= config.min_persons else 0.6
        return Signal(conf, {"persons": float(n), "faces": float(obs.face_count)})

    return signal


RULE = RuleSpec(
    "extra_person", ExtraPersonConfig, make_signal, needs=frozenset({Stage.FACE, Stage.OBJECTS})
)
