"""A demo clip made from public-domain imagery shipped in scikit-image.

NASA's astronaut portrait (public domain) sits at a desk: present -> gone -> back -> a
second face appears. Frames are made in memory; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from deskwatch.arrays import Image, as_image
from deskwatch.capture.frame import Frame

WIDTH, HEIGHT = 640, 360
# (start_s, end_s, what is in view)
SCRIPT: tuple[tuple[float, float, str], ...] = (
    (0.0, 20.0, "agent"),
    (20.0, 60.0, "nobody"),
    (60.0, 80.0, "agent"),
    (80.0, 95.0, "agent+visitor"),
    (95.0, 100.0, "agent"),
)
DURATION_S = SCRIPT[-1][1]


def _portrait(height: int) -> Image:
    face = data.astronaut()[0:300, 90:370]  # type: ignore[no-untyped-call]  # head and shoulders, RGB
    bgr = cv2.cvtColor(face, cv2.COLOR_RGB2BGR)
    width = round(bgr.shape[1] * height / bgr.shape[0])
    return as_image(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA))


def _room() -> Image:
    ramp = np.linspace(90, 170, WIDTH, dtype=np.float32)
    room = np.repeat(ramp[None, :], HEIGHT, axis=0)
    room[int(HEIGHT * 0.8) :, :] = 70  # the desk
    return np.dstack([room * 0.9, room, room * 1.1]).clip(0, 255).astype(np.uint8)


def scene_at(ts: float) -> str:
    for start, end, what in SCRIPT:
        if start <= ts < end:
            return what
    return SCRIPT[-1][2]


@dataclass
class DemoSource:
    """The demo as a frame source at ``fps`` (a real camera's noise included)."""

    fps: float = 2.0
    native_fps: float = 10.0
    name: str = "demo"
    duration_s: float | None = DURATION_S

    def __post_init__(self) -> None:
        self._room = _room()
        self._agent = _portrait(250)
        self._visitor = as_image(cv2.flip(_portrait(230), 1))
        self._rng = np.random.default_rng(7)

    def render(self, ts: float) -> Image:
        img = self._room.copy()
        what = scene_at(ts)
        if "agent" in what:
            _paste(img, self._agent, WIDTH - self._agent.shape[1] - 40, HEIGHT - 250)
        if "visitor" in what:
            _paste(img, self._visitor, 20, HEIGHT - 230)
        noise = self._rng.normal(0, 2.0, img.shape)
        return as_image((img + noise).clip(0, 255))

    def __iter__(self) -> Iterator[Frame]:
        step = max(1, round(self.native_fps / self.fps))
        for index in range(0, int(DURATION_S * self.native_fps), step):
            ts = index / self.native_fps
            yield Frame(self.render(ts), ts, index)

    def close(self) -> None:
        """Nothing to release."""


def _paste(canvas: Image, picture: Image, x: int, y: int) -> None:
    h, w = picture.shape[:2]
    canvas[y : y + h, x : x + w] = picture[: HEIGHT - y, : WIDTH - x]


def write_demo_clip(path: Path, fps: float = 10.0) -> Path:
    """Write the demo as an MP4 (for the agent's ``--source`` and the server demo)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write video to {path}")
    source = DemoSource(fps=fps, native_fps=fps)
    for frame in source:
        writer.write(frame.image)
    writer.release()
    return path
