"""dlib face descriptors (the ``deskwatch[identity]`` extra), imported only when needed.

The face is found by MediaPipe's face mesh (already running for liveness); dlib's 5-point
shape predictor aligns it and its ResNet turns it into a 128-number descriptor. Descriptors
stay in memory or in the encrypted template; they never leave the PC.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
from numpy.typing import NDArray

from deskwatch.arrays import Image
from deskwatch.identity.extra import EXTRA_HINT, IdentityUnavailableError, require
from deskwatch.perception.base import ModelWrapper, TimestampGuard
from deskwatch.perception.observation import Box

Descriptor = NDArray[np.float32]  # shape (DESCRIPTOR_SIZE,)


def default_model_dir() -> Path:
    """The model files shipped by the ``face-recognition-models`` package, found without
    importing it (its ``__init__`` needs ``pkg_resources``, absent without setuptools)."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise IdentityUnavailableError(f"{EXTRA_HINT} (face_recognition_models not found)")
    return Path(spec.origin).parent / "models"


@dataclass(frozen=True)
class FaceEncoderOptions:
    model_dir: Path | None = None  # None: face-recognition-models' folder
    num_jitters: int = 0  # re-sampled crops averaged per descriptor (slower, a little steadier)


class FaceEncoder(ModelWrapper):
    """A 128-number descriptor of the face inside a given box."""

    key: ClassVar[str] = "face_encoder"

    def __init__(self, options: FaceEncoderOptions) -> None:
        dlib = require("dlib")
        folder = options.model_dir or default_model_dir()
        try:
            self._shape = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
            self._net = dlib.face_recognition_model_v1(
                str(folder / "dlib_face_recognition_resnet_model_v1.dat")
            )
        except RuntimeError as exc:
            raise IdentityUnavailableError(
                f"cannot load face models from {folder}: {exc}"
            ) from None
        self._rect = dlib.rectangle
        self._jitters = options.num_jitters
        self._guard = TimestampGuard("face encoder")

    @classmethod
    def create_from_options(cls, options: FaceEncoderOptions) -> FaceEncoder:
        return cls(options)

    def describe(self, image_bgr: Image, box: Box, ts: float) -> Descriptor:
        """The descriptor of the face in ``box`` (pixels of ``image_bgr``)."""
        self._guard.check(ts)
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        rect = self._rect(int(box.x1), int(box.y1), int(box.x2), int(box.y2))
        shape = self._shape(rgb, rect)
        values = self._net.compute_face_descriptor(rgb, shape, self._jitters)
        return np.asarray(values, dtype=np.float32)

    def close(self) -> None:
        self._shape = self._net = None


def distance(descriptor: Descriptor, template: NDArray[np.float32]) -> float:
    """Euclidean distance to the nearest template descriptor (dlib's usual measure)."""
    return float(np.min(np.linalg.norm(template - descriptor[None, :], axis=1)))
