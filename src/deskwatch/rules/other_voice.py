"""``other_voice``: speech in the room while the agent's own mouth is still.

Mouth motion is the spread (max - min) of the face mesh's ``mouth_opening`` over the
last ``mouth_window_s`` seconds, using only frames where the mesh ran. Acts only when
room audio is analysed and the agent's face is tracked (no face is ``away``'s business).
"""

from __future__ import annotations

from collections import deque

from pydantic import Field

from deskwatch.perception.observation import Observation
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import RuleConfig, RuleSpec, Signal, SignalFn


class OtherVoiceConfig(RuleConfig):
    min_speech_ratio: float = Field(default=0.3, ge=0, le=1)
    max_mouth_motion: float = Field(
        default=0.05, ge=0, description="mouth_opening spread below which the mouth is still"
    )
    mouth_window_s: float = Field(default=1.5, gt=0)
    min_other_voice_s: float = Field(default=3.0, ge=0)

    @property
    def min_duration_s(self) -> float:
        return self.min_other_voice_s


class MouthMotion:
    """Spread of ``mouth_opening`` over a sliding window of source time."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, obs: Observation) -> None:
        """Record the mouth when the face mesh ran on this frame; forget it with the face."""
        if obs.head is None:
            self._samples.clear()
        elif Stage.FACE_MESH in obs.stages:
            self._samples.append((obs.ts, obs.head.mouth_opening))
        while self._samples and obs.ts - self._samples[0][0] > self._window_s:
            self._samples.popleft()

    def spread(self) -> float | None:
        """max - min over the window, or None with fewer than two samples."""
        if len(self._samples) < 2:
            return None
        values = [v for _, v in self._samples]
        return max(values) - min(values)


def make_signal(config: OtherVoiceConfig) -> SignalFn:
    mouth = MouthMotion(config.mouth_window_s)

    def signal(obs: Observation) -> Signal | None:
        mouth.add(obs)
        audio, spread = obs.audio, mouth.spread()
        if audio is None or spread is None or audio.speech_ratio < config.min_speech_ratio:
            return None
        if spread > config.max_mouth_motion:
            return None
        evidence = {"speech_ratio": audio.speech_ratio, "mouth_motion": spread}
        return Signal(audio.speech_ratio, {**evidence, "level_dbfs": audio.level_dbfs})

    return signal


RULE = RuleSpec(
    "other_voice",
    OtherVoiceConfig,
    make_signal,
    needs=frozenset({Stage.FACE, Stage.FACE_MESH}),
    audio=True,
)
