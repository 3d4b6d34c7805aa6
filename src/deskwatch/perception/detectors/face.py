"""Face detection (MediaPipe BlazeFace): how many faces, where, how sure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from deskwatch import lazy
from deskwatch.perception import mp
from deskwatch.perception.base import DetectorConfig, ModelWrapper, TimestampGuard
from deskwatch.perception.detections import Detections
from deskwatch.perception.observation import Observation
from deskwatch.perception.registry import DetectorSpec
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    import cv2

    from deskwatch.capture.frame import Frame
else:
    cv2 = lazy.module("cv2")

MAX_INPUT_WIDTH = 480


class FaceDetectionConfig(DetectorConfig):
    type: Literal["face"] = "face"
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    model: Literal["short_range", "full_range"] = Field(
        default="short_range",
        description="short_range: faces within ~2 m of a webcam (fast); full_range: up to ~5 m",
    )


@dataclass(frozen=True)
class FaceDetectorOptions:
    min_confidence: float = 0.5
    full_range: bool = False


class FaceDetector(ModelWrapper):
    """A MediaPipe-shaped wrapper: options, factory, ``close()``, context manager."""

    key: ClassVar[str] = "face"

    def __init__(self, options: FaceDetectorOptions) -> None:
        self._model = mp.solutions().face_detection.FaceDetection(
            model_selection=1 if options.full_range else 0,
            min_detection_confidence=options.min_confidence,
        )
        self._guard = TimestampGuard("face detector")

    @classmethod
    def create_from_options(cls, options: FaceDetectorOptions) -> FaceDetector:
        return cls(options)

    def find(self, image_bgr: cv2.typing.MatLike, ts: float) -> Detections:
        """Face boxes in pixels for one BGR image."""
        self._guard.check(ts)
        h, w = image_bgr.shape[:2]
        result = self._model.process(cv2.cvtColor(_shrink(image_bgr), cv2.COLOR_BGR2RGB))
        boxes, scores = [], []
        for det in result.detections or []:
            rb = det.location_data.relative_bounding_box
            x1, y1 = max(0.0, rb.xmin * w), max(0.0, rb.ymin * h)
            x2, y2 = min(w, (rb.xmin + rb.width) * w), min(h, (rb.ymin + rb.height) * h)
            boxes.append([x1, y1, x2, y2])
            scores.append(float(det.score[0]))
        return Detections.from_lists(boxes, scores, ["face"] * len(scores))

    def detect(self, frame: Frame, obs: Observation) -> None:
        obs.faces = self.find(frame.image, frame.ts)

    def close(self) -> None:
        self._model.close()


def _shrink(image: cv2.typing.MatLike, max_width: int = MAX_INPUT_WIDTH) -> cv2.typing.MatLike:
    """Downscale wide frames: the model sees 128-192 px, so more pixels only cost time."""
    w = image.shape[1]
    if w <= max_width:
        return image
    h = round(image.shape[0] * max_width / w)
    return cv2.resize(image, (max_width, h), interpolation=cv2.INTER_AREA)


def _create(config: FaceDetectionConfig) -> FaceDetector:
    options = FaceDetectorOptions(config.min_confidence, config.model == "full_range")
    return FaceDetector.create_from_options(options)


def describe(obs: Observation) -> str:
    return f"{obs.face_count} face(s) in view"


DETECTOR = DetectorSpec(
    stage=Stage.FACE,
    config=FaceDetectionConfig,
    factory=_create,
    output="faces",
    title="face detection",
    describe=describe,
)
