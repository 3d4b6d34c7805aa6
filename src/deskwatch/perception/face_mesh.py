"""Face mesh (MediaPipe): head yaw/pitch/roll, eye gaze, eye openness, mouth opening."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import cv2
import mediapipe as mp
import numpy as np

from deskwatch.capture.frame import Frame
from deskwatch.perception.base import DetectorConfig, ModelWrapper, TimestampGuard, register
from deskwatch.perception.observation import HeadPose, Observation

# A generic head (mm, x right, y down, z away from the camera) for solvePnP, and the
# mesh indices of the same points: nose tip, chin, eye outer corners, mouth corners.
_MODEL_3D = np.array(
    [[0, 0, 0], [0, 330, -65], [-225, -170, -135], [225, -170, -135], [-150, 150, -125],
     [150, 150, -125]],
    dtype=np.float64,
)
_PNP_IDS = [1, 152, 33, 263, 61, 291]
# Eye corners (outer, inner), lids (upper, lower) and iris centre, for each eye.
_EYES = ((33, 133, 159, 145, 468), (263, 362, 386, 374, 473))
_MOUTH = (61, 291, 13, 14)
# Iris travel relative to eye width -> eyeball rotation: eye ~30 mm wide, radius ~12 mm.
_IRIS_TO_SINE = 30.0 / 12.0


class FaceMeshConfig(DetectorConfig):
    type: Literal["face_mesh"] = "face_mesh"


@dataclass(frozen=True)
class FaceMeshOptions:
    max_faces: int = 1
    min_confidence: float = 0.5


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def head_angles(points: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from the six PnP points (pixels)."""
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(_MODEL_3D, points, camera, None, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    pitch, yaw, roll = cv2.RQDecomp3x3(rotation)[0]
    pitch, yaw, roll = _wrap(pitch), _wrap(yaw), _wrap(roll)
    if abs(roll) > 90:  # the decomposition's other solution
        pitch, yaw, roll = _wrap(180 - pitch), _wrap(180 - yaw), _wrap(roll - 180)
    return -yaw, -pitch, roll


def _ratio(lm: np.ndarray, a: int, b: int, c: int, d: int) -> float:
    """|c-d| / |a-b| for landmark indices."""
    base = float(np.linalg.norm(lm[a] - lm[b]))
    return float(np.linalg.norm(lm[c] - lm[d])) / base if base > 0 else 0.0


def eye_measures(lm: np.ndarray) -> tuple[float, float]:
    """Eye yaw in degrees (+ = toward the image's right) and eyelid openness."""
    offsets, openness = [], []
    for outer, inner, upper, lower, iris in _EYES:
        left, right = sorted((lm[outer][0], lm[inner][0]))
        width = right - left
        if width > 0:
            offsets.append((lm[iris][0] - left) / width - 0.5)
        openness.append(_ratio(lm, outer, inner, upper, lower))
    offset = float(np.mean(offsets)) if offsets else 0.0
    eye_yaw = math.degrees(math.asin(max(-1.0, min(1.0, offset * _IRIS_TO_SINE))))
    return eye_yaw, float(np.mean(openness))


class FaceMesh(ModelWrapper):
    """Landmarks of the main face reduced to a few angles and ratios."""

    key: ClassVar[str] = "face_mesh"

    def __init__(self, options: FaceMeshOptions) -> None:
        self._model = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=options.max_faces,
            refine_landmarks=True,
            min_detection_confidence=options.min_confidence,
        )
        self._guard = TimestampGuard("face mesh")

    @classmethod
    def create_from_options(cls, options: FaceMeshOptions) -> FaceMesh:
        return cls(options)

    def landmarks(self, image_bgr: np.ndarray, ts: float) -> np.ndarray | None:
        """478x2 pixel landmarks of the first face, or None."""
        self._guard.check(ts)
        h, w = image_bgr.shape[:2]
        result = self._model.process(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        if not result.multi_face_landmarks:
            return None
        pts = result.multi_face_landmarks[0].landmark
        return np.array([[p.x * w, p.y * h] for p in pts], dtype=np.float64)

    def pose(self, image_bgr: np.ndarray, ts: float) -> HeadPose | None:
        lm = self.landmarks(image_bgr, ts)
        if lm is None:
            return None
        h, w = image_bgr.shape[:2]
        yaw, pitch, roll = head_angles(lm[_PNP_IDS], w, h)
        eye_yaw, openness = eye_measures(lm)
        return HeadPose(yaw, pitch, roll, eye_yaw, openness, _ratio(lm, *_MOUTH))

    def detect(self, frame: Frame, obs: Observation) -> None:
        obs.head = self.pose(frame.image, frame.ts)

    def close(self) -> None:
        self._model.close()


@register("face_mesh", FaceMeshConfig)
def _create(config: FaceMeshConfig) -> FaceMesh:
    return FaceMesh.create_from_options(FaceMeshOptions())
