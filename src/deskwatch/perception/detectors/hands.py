"""Hands (MediaPipe): where the hands are relative to the main face."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from deskwatch import lazy
from deskwatch.arrays import Points
from deskwatch.gating.view import GateView
from deskwatch.perception import mp
from deskwatch.perception.base import DetectorConfig, ModelWrapper, TimestampGuard
from deskwatch.perception.observation import Box, HandCues, Observation
from deskwatch.perception.registry import Carry, DetectorSpec
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    import cv2

    from deskwatch.arrays import Image
    from deskwatch.capture.frame import Frame
else:
    cv2 = lazy.module("cv2")

_FINGERTIPS = (4, 8, 12, 16, 20)


class HandsConfig(DetectorConfig):
    type: Literal["hands"] = "hands"
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    static_image: bool = Field(default=False, description="no tracking: for single images")


@dataclass(frozen=True)
class HandsOptions:
    max_hands: int = 2
    min_confidence: float = 0.5
    static_image: bool = False  # True: no tracking between calls (single images)


def _closeness(distance: float, reach: float) -> float:
    """1 at distance 0, falling linearly to 0 at ``reach``."""
    return max(0.0, 1.0 - distance / reach) if reach > 0 else 0.0


def hand_cues(hands: list[Points], face: Box | None) -> HandCues:
    """Cues for 21x2 pixel landmark arrays against the main face box."""
    boxes = tuple(Box(*h.min(axis=0), *h.max(axis=0)) for h in hands)
    if face is None or not hands:
        return HandCues(count=len(hands), boxes=boxes)
    ears = np.array([[face.x1, face.cy], [face.x2, face.cy]])
    mouth = np.array([face.cx, face.y1 + 0.8 * face.height])
    at_ear = at_mouth = in_front = 0.0
    for h in hands:
        centre = h.mean(axis=0)
        ear_d = float(np.min(np.linalg.norm(ears - centre, axis=1)))
        at_ear = max(at_ear, _closeness(ear_d, 0.6 * face.width))
        tip_d = float(np.min(np.linalg.norm(h[list(_FINGERTIPS)] - mouth, axis=1)))
        at_mouth = max(at_mouth, _closeness(tip_d, 0.5 * face.width))
        below_chin = face.y2 < centre[1] < face.y2 + 3 * face.height
        centred = abs(centre[0] - face.cx) < 2 * face.width
        if below_chin and centred:
            in_front = max(in_front, 1.0 - abs(centre[0] - face.cx) / (2 * face.width))
    return HandCues(len(hands), at_ear, at_mouth, in_front, boxes)


class HandTracker(ModelWrapper):
    """MediaPipe Hands reduced to cues; landmarks never leave this module."""

    key: ClassVar[str] = "hands"

    def __init__(self, options: HandsOptions) -> None:
        self._model = mp.solutions().hands.Hands(
            static_image_mode=options.static_image,
            max_num_hands=options.max_hands,
            model_complexity=0,
            min_detection_confidence=options.min_confidence,
        )
        self._guard = TimestampGuard("hands")

    @classmethod
    def create_from_options(cls, options: HandsOptions) -> HandTracker:
        return cls(options)

    def landmarks(self, image_bgr: Image, ts: float) -> list[Points]:
        self._guard.check(ts)
        h, w = image_bgr.shape[:2]
        result = self._model.process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        return [
            np.array([[p.x * w, p.y * h] for p in hand.landmark], dtype=np.float64)
            for hand in result.multi_hand_landmarks or []
        ]

    def detect(self, frame: Frame, obs: Observation) -> None:
        obs.hands = hand_cues(self.landmarks(frame.image, frame.ts), obs.main_face)

    def close(self) -> None:
        self._model.close()


def _create(config: HandsConfig) -> HandTracker:
    options = HandsOptions(min_confidence=config.min_confidence, static_image=config.static_image)
    return HandTracker.create_from_options(options)


def _gating(view: GateView) -> bool:
    """With a face in view: on motion near it, or while a cue it feeds is live."""
    return view.face_present and (view.moved_near_face or view.live_cue)


def describe(obs: Observation) -> str | None:
    return None if obs.hands is None else f"{obs.hands.count} hand(s) in view"


DETECTOR = DetectorSpec(
    stage=Stage.HANDS,
    config=HandsConfig,
    factory=_create,
    output="hands",
    title="hand positions",
    describe=describe,
    reads=frozenset({Stage.FACE}),
    gating=_gating,
    carry=Carry.WITH_FACE,
)
