"""Redaction of an evidence still: only the agent stays sharp.

The agent is the largest, most central face; their person region is that face plus the
selfie-segmentation blob connected to it, within a body-wide band below the face. The
background is blurred, and every other face (both BlazeFace models, merged, at a low
threshold: a missed face is worse than an extra blur) is pixelated and blurred on top, even
when its person touches the agent's blob. With no face found there is nobody to keep
sharp safely (the largest person blob may be a bystander whose face was missed), so no
still is made: ``NoFaceError``. All in memory; nothing here writes to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import cv2
import numpy as np
from numpy.typing import NDArray

from deskwatch.arrays import Image, as_image
from deskwatch.errors import DeskwatchError
from deskwatch.perception import mp
from deskwatch.perception.observation import Box
from deskwatch.perception.quiet import native_stderr_silenced

MAX_WIDTH = 640  # the still is made at most this wide before anything else
JPEG_QUALITY = 75
FACE_MIN_CONFIDENCE = 0.3
PERSON_THRESHOLD = 0.5
BODY_HALF_WIDTH = 1.6  # face widths either side of the face centre
OTHER_FACE_MARGIN = 0.2  # other faces are blurred this much (of their size) beyond the box
PIXEL_BLOCKS = 6  # another face is reduced to this many blocks across before the blur
Mask = NDArray[np.bool_]


class NoFaceError(DeskwatchError):
    """No face in the picture: no still is made."""


@dataclass(frozen=True)
class Redacted:
    """A redacted still and what was done to it (numbers only)."""

    image: Image
    agent_face: Box
    other_faces: tuple[Box, ...]


def shrink(image: Image, max_width: int = MAX_WIDTH) -> Image:
    """A copy at most ``max_width`` wide (always a copy: the caller's frame is untouched)."""
    h, w = image.shape[:2]
    if w <= max_width:
        return image.copy()
    size = (max_width, round(h * max_width / w))
    return as_image(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def encode_jpeg(image: Image, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes, encoded in memory."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


def agent_face(faces: list[Box], width: int, height: int) -> int | None:
    """Index of the agent's face: the largest, discounted by distance from the centre."""
    if not faces:
        return None
    half_diagonal = float(np.hypot(width, height)) / 2

    def weight(box: Box) -> float:
        off = float(np.hypot(box.cx - width / 2, box.cy - height / 2)) / half_diagonal
        return box.area * (1.0 - 0.5 * off)

    return max(range(len(faces)), key=lambda i: weight(faces[i]))


def merge_faces(boxes: list[Box], min_iou: float = 0.3) -> list[Box]:
    """One box per face from several detectors' boxes (the larger of overlapping ones)."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: b.area, reverse=True):
        if all(box.iou(k) < min_iou for k in kept):
            kept.append(box)
    return kept


def keep_mask(person: Mask, face: Box, others: list[Box]) -> Mask:
    """Pixels that stay sharp: the agent's face and the person blob connected to it,
    within a body band below the face, on the agent's side of any other face; never
    another face."""
    h, w = person.shape
    _, labels = cv2.connectedComponents(person.astype(np.uint8), connectivity=8)
    fx1, fy1, fx2, fy2 = _clip(face, w, h)
    touching = np.unique(labels[fy1:fy2, fx1:fx2])
    keep = np.isin(labels, touching[touching > 0])
    band = np.zeros_like(keep)
    reach = BODY_HALF_WIDTH * face.width
    body = Box(face.cx - reach, face.y1 - face.height / 2, face.cx + reach, h)
    bx1, by1, bx2, _ = _clip(body, w, h)
    band[by1:, bx1:bx2] = True
    keep &= band & _nearest_columns(face, others, w)[None, :]
    keep[fy1:fy2, fx1:fx2] = True
    for other in others:
        x1, y1, x2, y2 = _clip(other.expand(OTHER_FACE_MARGIN, OTHER_FACE_MARGIN), w, h)
        keep[y1:y2, x1:x2] = False
    return keep


def _nearest_columns(face: Box, others: list[Box], width: int) -> NDArray[np.bool_]:
    """Columns nearer the agent's face than any other face (in face widths): where two
    people's blobs touch, each keeps their own side."""
    x = np.arange(width, dtype=np.float64) + 0.5
    mine = np.abs(x - face.cx) / max(face.width, 1.0)
    nearest = np.ones(width, dtype=bool)
    for other in others:
        nearest &= mine <= np.abs(x - other.cx) / max(other.width, 1.0)
    return nearest


def blur_strongly(image: Image, box: Box) -> None:
    """Pixelate then blur one box of ``image`` in place: no face stays recognisable."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = _clip(box, w, h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return
    region = image[y1:y2, x1:x2]
    small = cv2.resize(region, (PIXEL_BLOCKS, PIXEL_BLOCKS), interpolation=cv2.INTER_AREA)
    blocks = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    k = _odd(max(x2 - x1, y2 - y1) // 3)
    image[y1:y2, x1:x2] = cv2.GaussianBlur(blocks, (k, k), 0)


def background_blur(image: Image) -> Image:
    """The whole picture blurred enough that nothing in it can be read."""
    k = _odd(max(image.shape[:2]) // 12)
    return as_image(cv2.GaussianBlur(image, (k, k), 0))


class Redactor:
    """Face detection (both ranges) and selfie segmentation, built only when a still is
    taken; MediaPipe-shaped: ``close()`` and a context manager."""

    def __init__(self) -> None:
        faces = mp.solutions().face_detection.FaceDetection
        with native_stderr_silenced():
            self._faces = [
                faces(model_selection=m, min_detection_confidence=FACE_MIN_CONFIDENCE)
                for m in (0, 1)
            ]
            segmentation = mp.solutions().selfie_segmentation.SelfieSegmentation
            self._segmenter = segmentation(model_selection=0)

    def find_faces(self, rgb: Image) -> list[Box]:
        h, w = rgb.shape[:2]
        boxes = []
        for model in self._faces:
            for det in model.process(rgb).detections or []:
                rb = det.location_data.relative_bounding_box
                x1, y1 = rb.xmin * w, rb.ymin * h
                boxes.append(Box(x1, y1, x1 + rb.width * w, y1 + rb.height * h))
        return merge_faces(boxes)

    def redact(self, image: Image) -> Redacted:
        """A redacted copy of ``image`` (BGR), at most MAX_WIDTH wide; NoFaceError when
        no face is found (then nobody can be kept sharp safely)."""
        still = shrink(image)
        h, w = still.shape[:2]
        rgb = as_image(cv2.cvtColor(still, cv2.COLOR_BGR2RGB))
        faces = self.find_faces(rgb)
        main = agent_face(faces, w, h)
        if main is None:
            raise NoFaceError("no face found, so nobody could be kept sharp safely")
        face = faces[main]
        others = [f for i, f in enumerate(faces) if i != main]
        mask = self._segmenter.process(rgb).segmentation_mask
        person = np.zeros((h, w), bool) if mask is None else mask > PERSON_THRESHOLD
        keep = keep_mask(person, face, others)
        out = as_image(np.where(keep[..., None], still, background_blur(still)))
        for other in others:
            blur_strongly(out, other.expand(OTHER_FACE_MARGIN, OTHER_FACE_MARGIN))
        return Redacted(out, face, tuple(others))

    def close(self) -> None:
        for model in self._faces:
            model.close()
        self._segmenter.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clip(box: Box, w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1 = min(w, max(0, int(box.x1))), min(h, max(0, int(box.y1)))
    x2, y2 = min(w, max(0, int(np.ceil(box.x2)))), min(h, max(0, int(np.ceil(box.y2))))
    return x1, y1, x2, y2


def _odd(n: int) -> int:
    return max(3, n | 1)
