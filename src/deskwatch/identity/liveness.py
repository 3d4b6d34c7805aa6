"""Liveness from the face mesh over one window of ``window_s``: a head turn or nod away and
back, a look aside and back, or a blink (the eyelid gap dips and opens again). A check
judges its passive window, then, during a challenge, every window of that length that ends
at a later frame (see ``check.FaceWindow``): a cue must still leave and come back within it.

A movement counts only if it leaves where the face was by the threshold, holds for two
analysed frames of a signal smoothed over three, and comes back by the threshold, so one
noisy frame cannot decide it and a slow drift (a photo tilting in a hand) is no movement.
Head roll is not a cue: a photo turns in its own plane. Eye cues count only on faces big
enough to measure them (``min_cue_px``); a frozen camera picture fails outright.

A still photo or a frozen frame shows none of these cues. A video of the worker played to
the camera can show them: this is not a defence against replayed video or masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deskwatch.identity.config import IdentityConfig
from deskwatch.perception.detectors.face_mesh import IRIS_TO_SINE
from deskwatch.perception.observation import HeadPose


@dataclass(frozen=True)
class FaceSample:
    """What liveness needs from one frame of the checked face."""

    pose: HeadPose
    eye_px: float  # eye width, corner to corner, in pixels (both eyes averaged)
    ts: float = 0.0  # the frame's source seconds


@dataclass(frozen=True)
class Liveness:
    """What moved during the challenge and the overall score (0–1)."""

    turn_deg: float  # largest head yaw or pitch movement away and back
    gaze_shift_deg: float  # largest eye-yaw movement away and back (0: eyes too small)
    blink_drop: float  # deepest eyelid dip that opened again, share of the median (0: too small)
    frozen: bool = False  # two analysed frames were identical: a frozen picture
    score: float = 0.0

    @property
    def passed(self) -> bool:
        return self.score >= 1.0 and not self.frozen


def smooth(values: Sequence[float]) -> NDArray[np.float64]:
    """Median of every three neighbours (the two ends dropped): one odd frame is ignored."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        return v[:0]
    windows = np.lib.stride_tricks.sliding_window_view(v, 3)
    return np.asarray(np.median(windows, axis=1), dtype=np.float64)


def excursion(values: Sequence[float]) -> float:
    """The largest rise (or fall) held for two smoothed frames with lower (higher) values on
    both sides: by how much the signal left and came back, in the values' unit."""
    s = smooth(values)
    if len(s) < 4:  # one frame before, two held, one after
        return 0.0
    best = 0.0
    for x in (s, -s):
        held = np.minimum(x[:-1], x[1:])[1:-1]  # pairs (i, i+1) for i = 1 .. n-3
        before = np.minimum.accumulate(x)[:-3]  # min of x[:i]
        after = np.minimum.accumulate(x[::-1])[::-1][3:]  # min of x[i+2:]
        best = max(best, float(np.max(np.minimum(held - before, held - after))))
    return best


def blink_drop(openness: Sequence[float], recover: float) -> float:
    """The deepest dip of the eyelid gap below its median, as a share, with frames at least
    ``1 - recover`` of the median both before and after it (the eyes opened again)."""
    o = np.asarray(openness, dtype=np.float64)
    base = float(np.median(o)) if len(o) else 0.0
    if len(o) < 3 or base <= 0:
        return 0.0
    depth = 1.0 - o / base
    is_open = depth <= recover
    before = np.concatenate([[False], np.logical_or.accumulate(is_open)[:-1]])
    after = np.concatenate([np.logical_or.accumulate(is_open[::-1])[::-1][1:], [False]])
    dips = depth[before & after]
    return max(0.0, float(dips.max())) if len(dips) else 0.0


def _eyes_measurable(samples: Sequence[FaceSample], config: IdentityConfig) -> tuple[bool, bool]:
    """(gaze, blink): would the threshold move the iris / the eyelid by ``min_cue_px``?"""
    eye = float(np.median([s.eye_px for s in samples]))
    lids = float(np.median([s.pose.eye_openness for s in samples]))
    iris_px = eye * math.sin(math.radians(min(config.min_gaze_shift_deg, 90.0))) / IRIS_TO_SINE
    lid_px = eye * lids * config.min_blink_drop
    return iris_px >= config.min_cue_px, lid_px >= config.min_cue_px


def judge(samples: Sequence[FaceSample], config: IdentityConfig, frozen: bool = False) -> Liveness:
    """Liveness of the face seen during one check window (``frozen``: the picture froze)."""
    if len(samples) < 3:
        return Liveness(0.0, 0.0, 0.0, frozen)
    yaw = [s.pose.yaw_deg for s in samples]
    pitch = [s.pose.pitch_deg for s in samples]
    turn = max(excursion(yaw), excursion(pitch))
    gaze_ok, blink_ok = _eyes_measurable(samples, config)
    gaze = excursion([s.pose.eye_yaw_deg for s in samples]) if gaze_ok else 0.0
    lids = [s.pose.eye_openness for s in samples]
    blink = blink_drop(lids, config.min_blink_drop / 2) if blink_ok else 0.0
    score = max(
        turn / config.min_turn_deg,
        gaze / config.min_gaze_shift_deg,
        blink / config.min_blink_drop,
    )
    return Liveness(turn, gaze, blink, frozen, 0.0 if frozen else min(1.0, score))
