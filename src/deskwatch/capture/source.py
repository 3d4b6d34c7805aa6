"""Frame sources. Each yields ``Frame``s sampled at the analysis rate, in source time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2

from deskwatch.arrays import as_image
from deskwatch.capture.dimensions import check_image_file, refuse_huge
from deskwatch.capture.frame import Frame
from deskwatch.errors import SourceError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://")
# A file that stops this far short of its declared frame count is truncated or corrupt.
_TRUNCATED_SHARE = 0.9
# Container frame rates are rarely exact (24.0038 fps): a frame this close to its slot counts.
_SAMPLE_SLACK_S = 1e-3


class FrameSource(Protocol):
    """Iterable of frames; ``duration_s`` is known for files (for progress bars)."""

    name: str
    duration_s: float | None

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class _Sampler:
    """Keeps frames at least ``1/fps`` seconds of source time apart."""

    def __init__(self, fps: float) -> None:
        self._period = 1.0 / fps
        self._next = 0.0

    def take(self, ts: float) -> bool:
        if ts + _SAMPLE_SLACK_S < self._next:
            return False
        self._next = max(self._next + self._period, ts + self._period / 2)
        return True


@dataclass
class VideoFileSource:
    """A video file or a remote file URL (anything FFmpeg decodes, GIF included).

    Timestamps are the position in the video; rotation metadata is honoured.
    """

    location: str
    fps: float
    name: str = ""
    duration_s: float | None = None

    def __post_init__(self) -> None:
        self.name = self.location
        self._cap = _open_capture(self.location)
        self._native_fps = self._cap.get(cv2.CAP_PROP_FPS) or 25.0
        self._declared = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if self._declared > 0:
            self.duration_s = self._declared / self._native_fps

    def __iter__(self) -> Iterator[Frame]:
        sampler, index = _Sampler(self.fps), 0
        while self._cap.grab():
            ts = index / self._native_fps
            if sampler.take(ts):
                ok, image = self._cap.retrieve()
                if ok and image is not None:
                    yield Frame(as_image(image), ts, index)
            index += 1
        if index == 0:
            raise SourceError(f"{self.name}: no frame could be decoded (corrupt or unsupported)")
        if self._declared > 10 and index < self._declared * _TRUNCATED_SHARE:
            raise SourceError(
                f"{self.name}: video broke off at frame {index} of {self._declared} "
                f"({index / self._native_fps:.1f} s); file is truncated or corrupt"
            )

    def close(self) -> None:
        self._cap.release()


def _open_capture(location: str) -> cv2.VideoCapture:
    if not location.startswith(STREAM_PREFIXES):
        path = Path(location)
        if not path.exists():
            raise SourceError(f"{location}: no such file")
        if not path.is_file():
            raise SourceError(f"{location}: not a file or image folder")
    cap = cv2.VideoCapture(location, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap = cv2.VideoCapture(location)
    if not cap.isOpened():
        raise SourceError(f"{location}: cannot open as video (corrupt, unsupported or unreachable)")
    try:
        refuse_huge(location, cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    except SourceError:
        cap.release()
        raise
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


@dataclass
class ImageFolderSource:
    """A folder of images sorted by name, at ``image_fps`` images per second."""

    path: Path
    fps: float
    image_fps: float = 1.0
    name: str = ""
    duration_s: float | None = None

    def __post_init__(self) -> None:
        self.name = str(self.path)
        self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"{self.path}: folder has no images ({', '.join(IMAGE_SUFFIXES)})")
        for file in self._files:  # headers only: a huge one is refused before any work
            check_image_file(file)
        self.duration_s = len(self._files) / self.image_fps

    def __iter__(self) -> Iterator[Frame]:
        sampler = _Sampler(self.fps)
        for index, file in enumerate(self._files):
            ts = index / self.image_fps
            if not sampler.take(ts):
                continue
            check_image_file(file)
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise SourceError(f"{file}: cannot decode image")
            yield Frame(as_image(image), ts, index)

    def close(self) -> None:
        self._files = []


@dataclass
class LiveSource:
    """A camera (``camera:N``) or a stream URL; time is seconds since it was opened."""

    spec: str
    fps: float
    name: str = ""
    duration_s: float | None = None
    max_failures: int = 50

    def __post_init__(self) -> None:
        self.name = self.spec
        target: int | str = int(self.spec.split(":", 1)[1]) if _is_camera(self.spec) else self.spec
        self._cap = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            raise SourceError(f"{self.spec}: cannot open (missing, busy or unreachable)")

    def __iter__(self) -> Iterator[Frame]:
        sampler, index, failures, t0 = _Sampler(self.fps), 0, 0, time.monotonic()
        while True:
            ok = self._cap.grab()
            if not ok:
                failures += 1
                if failures > self.max_failures:
                    raise SourceError(f"{self.spec}: stopped delivering frames")
                time.sleep(0.05)
                continue
            failures = 0
            ts = time.monotonic() - t0
            if sampler.take(ts):
                ok, image = self._cap.retrieve()
                if ok and image is not None:
                    yield Frame(as_image(image), ts, index)
            index += 1

    def close(self) -> None:
        self._cap.release()


def _is_camera(spec: str) -> bool:
    head, _, tail = spec.partition(":")
    return head == "camera" and tail.isdigit()


def open_source(spec: str, fps: float = 2.0, image_fps: float = 1.0) -> FrameSource:
    """Open ``spec``: a video file, an image folder, ``camera:N`` or an rtsp/http URL.

    A URL whose container declares its length is a remote file (source time, ends
    normally); one without is a live stream (time since opened, retried when it stalls).
    """
    from deskwatch.capture.prefetch import Prefetched

    if _is_camera(spec):
        return LiveSource(spec, fps)
    if spec.startswith("camera:"):
        raise SourceError(f"{spec}: camera must be given as camera:N (N a number)")
    if spec.startswith(STREAM_PREFIXES):
        remote = VideoFileSource(spec, fps)
        if remote.duration_s is not None:
            return Prefetched(remote)
        remote.close()
        return LiveSource(spec, fps)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path, fps, image_fps)
    if path.is_file():
        check_image_file(path)  # before OpenCV's image reader decodes all of it
    return Prefetched(VideoFileSource(spec, fps))
