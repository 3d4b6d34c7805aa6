"""Face mesh (MediaPipe): head yaw/pitch/roll, eye gaze, eye openness, mouth opening."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from deskwatch import lazy
from deskwatch.gating.view import GateView
from deskwatch.perception import mp
from deskwatch.perception.base import DetectorConfig, ModelWrapper, TimestampGuard
from deskwatch.perception.observation import HeadPose, Observation
from deskwatch.perception.registry import Carry, DetectorSpec
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    import cv2

    from deskwatch.arrays import Image, Points
    from deskwatch.capture.frame import Frame
else:
    cv2 = lazy.module("cv2")

# Landmarks that span the face: outer eye corners (left-right) and forehead-chin.
_RIGHT_EYE_OUTER, _LEFT_EYE_OUTER, _FOREHEAD, _CHIN = 33, 263, 10, 152
# Eye corners (outer, inner), lids (upper, lower) and iris centre, for each eye.
_EYES = ((33, 133, 159, 145, 468), (263, 362, 386, 374, 473))
_MOUTH = (61, 291, 13, 14)
# Iris travel relative to eye width -> eyeball rotation: eye ~30 mm wide, radius ~12 mm.
IRIS_TO_SINE = 30.0 / 12.0


class FaceMeshConfig(DetectorConfig):
    type: Literal["face_mesh"] = "face_mesh"
    static_image: bool = Field(default=False, description="no tracking: for single images")


@dataclass(frozen=True)
class FaceMeshOptions:
    max_faces: int = 1
    min_confidence: float = 0.5
    static_image: bool = False  # True: no tracking between calls (single images)


def head_angles(lm3d: Points) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from 3-D landmarks (x, y in pixels, z in x's scale).

    The face's axes come from the eye corners and forehead-to-chin; their cross product
    is the face normal. Yaw + = facing the image's right, pitch + = facing down.
    """
    across = lm3d[_LEFT_EYE_OUTER] - lm3d[_RIGHT_EYE_OUTER]
    down = lm3d[_CHIN] - lm3d[_FOREHEAD]
    forward = -np.cross(across, down)
    norm = float(np.linalg.norm(forward))
    if norm == 0:
        return 0.0, 0.0, 0.0
    fx, fy, fz = forward / norm
    yaw = math.degrees(math.atan2(fx, -fz))
    pitch = math.degrees(math.atan2(fy, math.hypot(fx, fz)))
    roll = math.degrees(math.atan2(across[1], across[0]))
    return yaw, pitch, roll


def _ratio(lm: Points, a: int, b: int, c: int, d: int) -> float:
    """|c-d| / |a-b| for landmark indices."""
    base = float(np.linalg.norm(lm[a] - lm[b]))
    return float(np.linalg.norm(lm[c] - lm[d])) / base if base > 0 else 0.0


def eye_measures(lm: Points) -> tuple[float, float]:
    """Eye yaw in degrees (+ = toward the image's right) and eyelid openness."""
    offsets, openness = [], []
    for outer, inner, upper, lower, iris in _EYES:
        left, right = sorted((lm[outer][0], lm[inner][0]))
        width = right - left
        if width > 0:
            offsets.append((lm[iris][0] - left) / width - 0.5)
        openness.append(_ratio(lm, outer, inner, upper, lower))
    offset = float(np.mean(offsets)) if offsets else 0.0
    eye_yaw = math.degrees(math.asin(max(-1.0, min(1.0, offset * IRIS_TO_SINE))))
    return eye_yaw, float(np.mean(openness))


class FaceMesh(ModelWrapper):
    """Landmarks of the main face reduced to a few angles and ratios."""

    key: ClassVar[str] = "face_mesh"

    def __init__(self, options: FaceMeshOptions) -> None:
        self._model = mp.solutions().face_mesh.FaceMesh(
            static_image_mode=options.static_image,
            max_num_faces=options.max_faces,
            refine_landmarks=True,
            min_detection_confidence=options.min_confidence,
        )
        self._guard = TimestampGuard("face mesh")

    @classmethod
    def create_from_options(cls, options: FaceMeshOptions) -> FaceMesh:
        return cls(options)

    def landmarks(self, image_bgr: Image, ts: float) -> Points | None:
        """478x3 landmarks of the first face (x, y pixels; z in x's scale), or None."""
        faces = self.faces(image_bgr, ts)
        return faces[0] if faces else None

    def faces(self, image_bgr: Image, ts: float) -> list[Points]:
        """478x3 landmarks of every face found (at most ``max_faces``), in MediaPipe's order."""
        self._guard.check(ts)
        h, w = image_bgr.shape[:2]
        result = self._model.process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        return [
            np.array([[p.x * w, p.y * h, p.z * w] for p in face.landmark], dtype=np.float64)
            for face in result.multi_face_landmarks or ()
        ]

    def pose(self, image_bgr: Image, ts: float) -> HeadPose | None:
        lm = self.landmarks(image_bgr, ts)
        if lm is None:
            return None
        yaw, pitch, roll = head_angles(lm)
        flat = lm[:, :2]
        eye_yaw, openness = eye_measures(flat)
        return HeadPose(yaw, pitch, roll, eye_yaw, openness, _ratio(flat, *_MOUTH))

    def detect(self, frame: Frame, obs: Observation) -> None:
        obs.head = self.pose(frame.image, frame.ts)

    def close(self) -> None:
        self._model.close()


def _create(config: FaceMeshConfig) -> FaceMesh:
    return FaceMesh.create_from_options(FaceMeshOptions(static_image=config.static_image))


def _gating(view: GateView) -> bool:
    """With a face in view: on motion near it, while no head pose is known, or on speech."""
    prev = view.prev
    fresh = prev is None or prev.head is None
    return view.face_present and (view.moved_near_face or fresh or view.speech)


def describe(obs: Observation) -> str | None:
    return None if obs.head is None else f"head turned {obs.head.yaw_deg:+.0f}° sideways"


DETECTOR = DetectorSpec(
    stage=Stage.FACE_MESH,
    config=FaceMeshConfig,
    factory=_create,
    output="head",
    title="head and eye direction",
    describe=describe,
    reads=frozenset({Stage.FACE}),
    gating=_gating,
    carry=Carry.WITH_FACE,
)
