"""``--annotate``: a review video with the background and every other face blurred."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import cv2
import numpy as np

from deskwatch.arrays import Image, as_image
from deskwatch.capture.frame import Frame
from deskwatch.errors import DeskwatchError
from deskwatch.events.event import Event
from deskwatch.perception import mp
from deskwatch.perception.observation import Box, Observation
from deskwatch.perception.quiet import native_stderr_silenced

GREEN, AMBER, RED, WHITE = (60, 200, 60), (0, 190, 255), (40, 40, 230), (255, 255, 255)


def blur_box(image: Image, box: Box, strength: int = 31) -> None:
    """Blur one box of ``image`` in place."""
    h, w = image.shape[:2]
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(w, int(box.x2) + 1), min(h, int(box.y2) + 1)
    if x2 > x1 and y2 > y1:
        image[y1:y2, x1:x2] = cv2.GaussianBlur(image[y1:y2, x1:x2], (strength, strength), 0)


class Annotator:
    """Writes frames with boxes, head pose and event banners over a blurred background."""

    def __init__(self, path: Path, fps: float = 2.0) -> None:
        self._path, self._fps = path, fps
        self._writer: cv2.VideoWriter | None = None
        with native_stderr_silenced():
            self._segmenter = mp.solutions().selfie_segmentation.SelfieSegmentation(
                model_selection=0
            )
        self._active: dict[str, Event] = {}

    def add(self, frame: Frame, obs: Observation, events: list[Event]) -> None:
        for event in events:
            if event.is_open:
                self._active[str(event.id)] = event
            else:
                self._active.pop(str(event.id), None)
        self._write(self.render(frame, obs))

    def render(self, frame: Frame, obs: Observation) -> Image:
        image = self._blur_background(frame.image)
        main = obs.main_face
        for i in range(obs.face_count):
            box = Box(*(float(v) for v in obs.faces.xyxy[i]))
            if box != main:
                blur_box(image, box, 51)
        if main is not None:
            cv2.rectangle(image, _pt(main.x1, main.y1), _pt(main.x2, main.y2), GREEN, 2)
        for hand in obs.hands.boxes if obs.hands else ():
            cv2.rectangle(image, _pt(hand.x1, hand.y1), _pt(hand.x2, hand.y2), AMBER, 2)
        if obs.objects is not None:
            det = obs.objects.detections
            for label, xyxy in zip(det.labels, det.xyxy, strict=True):
                cv2.rectangle(image, _pt(xyxy[0], xyxy[1]), _pt(xyxy[2], xyxy[3]), RED, 2)
                cv2.putText(image, label, _pt(xyxy[0], xyxy[1] - 4), 0, 0.5, RED, 1)
        self._banner(image, obs)
        return image

    def _blur_background(self, image: Image) -> Image:
        mask = self._segmenter.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).segmentation_mask
        blurred = cv2.GaussianBlur(image, (41, 41), 0)
        if mask is None:
            return as_image(blurred)
        person = (mask > 0.5)[..., None]
        return as_image(np.where(person, image, blurred))

    def _banner(self, image: Image, obs: Observation) -> None:
        text = f"t={obs.ts:6.1f}s faces={obs.face_count}"
        if obs.head is not None:
            text += f" yaw={obs.head.gaze_yaw_deg:+.0f} pitch={obs.head.pitch_deg:+.0f}"
        cv2.putText(image, text, (8, 20), 0, 0.55, WHITE, 2)
        for row, event in enumerate(self._active.values()):
            label = f"{event.type} since {event.start_s:.0f}s"
            cv2.putText(image, label, (8, 46 + 24 * row), 0, 0.65, RED, 2)

    def _write(self, image: Image) -> None:
        if self._writer is None:
            h, w = image.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(str(self._path), fourcc, self._fps, (w, h))
            if not self._writer.isOpened():
                raise DeskwatchError(f"{self._path}: cannot write video")
        self._writer.write(image)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
        self._segmenter.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(x), int(y)
