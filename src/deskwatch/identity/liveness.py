"""Liveness from the face mesh over a few seconds: a head turn, a look aside or a blink.

A still photo or a frozen frame held to the camera shows none of them. The score is the
strongest cue relative to its threshold, capped at 1; a check passes at 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deskwatch.identity.config import IdentityConfig
from deskwatch.perception.observation import HeadPose


@dataclass(frozen=True)
class Liveness:
    """What moved during the challenge and the overall score (0–1)."""

    turn_deg: float  # range of head yaw
    gaze_shift_deg: float  # range of eye yaw relative to the head
    blink_drop: float  # largest fall of the eyelid gap below its median, as a share
    score: float

    @property
    def passed(self) -> bool:
        return self.score >= 1.0


def judge(poses: Sequence[HeadPose], config: IdentityConfig) -> Liveness:
    """Liveness of the face whose poses were seen during one check window."""
    if len(poses) < 2:
        return Liveness(0.0, 0.0, 0.0, 0.0)
    yaw = np.array([p.yaw_deg for p in poses])
    gaze = np.array([p.eye_yaw_deg for p in poses])
    lids = np.array([p.eye_openness for p in poses])
    median = float(np.median(lids))
    blink = 0.0 if median <= 0 else max(0.0, 1.0 - float(lids.min()) / median)
    turn, shift = float(np.ptp(yaw)), float(np.ptp(gaze))
    score = max(
        turn / config.min_turn_deg,
        shift / config.min_gaze_shift_deg,
        blink / config.min_blink_drop,
    )
    return Liveness(turn, shift, blink, min(1.0, score))
