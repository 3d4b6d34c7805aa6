"""``background_noise``: the room's steady background level stays above a threshold.

The level used is the stretch's floor (its quietest tenth), so the agent's own speech,
which has pauses, does not count as noise; a TV, a vacuum cleaner or a crowd does.
Acts only when room audio is analysed.
"""

from __future__ import annotations

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn

# Confidence reaches 1 this many dB above the threshold.
_FULL_CONFIDENCE_DB = 12.0


class BackgroundNoiseConfig(RuleConfig):
    min_level_dbfs: float = Field(default=-35.0, le=0)
    min_noise_s: float = Field(default=10.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_noise_s


def make_signal(config: BackgroundNoiseConfig) -> SignalFn:
    def signal(obs: Observation) -> Signal | None:
        audio = obs.audio
        if audio is None or audio.floor_dbfs < config.min_level_dbfs:
            return None
        over = audio.floor_dbfs - config.min_level_dbfs
        confidence = 0.5 + 0.5 * min(1.0, over / _FULL_CONFIDENCE_DB)
        return Signal(confidence, {"floor_dbfs": audio.floor_dbfs, "level_dbfs": audio.level_dbfs})

    return signal


RULE = RuleSpec(
    "background_noise", BackgroundNoiseConfig, make_signal, needs=frozenset(), audio=True
)
