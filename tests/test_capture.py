"""Frame sources: sampling, source timestamps, rotation, and clear errors."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from deskwatch.capture.prefetch import Prefetched
from deskwatch.capture.source import ImageFolderSource, VideoFileSource, _Sampler, open_source
from deskwatch.errors import SourceError
from tests.conftest import shared_file


def write_video(
    path: Path, frames: int, fps: float = 10.0, size: tuple[int, int] = (160, 120)
) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(
    ("native_fps", "rate", "seconds", "expected"),
    [(24.0, 2.0, 10.0, 20), (10.0, 2.0, 10.0, 20), (10.0, 1.0, 10.0, 10), (1.0, 2.0, 10.0, 10)],
)
def test_sampler_keeps_the_analysis_rate(
    native_fps: float, rate: float, seconds: float, expected: int
) -> None:
    sampler = _Sampler(rate)
    taken = [i for i in range(int(seconds * native_fps)) if sampler.take(i / native_fps)]
    assert len(taken) == expected


def test_video_timestamps_come_from_the_source(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", 50, fps=10)
    stamps = [f.ts for f in open_source(str(video), fps=2)]
    assert stamps == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5])
    again = [f.ts for f in open_source(str(video), fps=2)]
    assert again == stamps


def test_rotation_metadata_is_honoured() -> None:
    clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    frame = next(iter(open_source(str(clip), fps=2)))
    assert (frame.height, frame.width) == (848, 480)  # stored 848x480 landscape, shown portrait


def test_gif_is_a_video() -> None:
    gif = shared_file("data", "dev", "videos", "one-person-head-turns.gif")
    frames = list(open_source(str(gif), fps=2))
    assert len(frames) >= 9 and frames[0].width == 480


def test_image_folder_sorted_by_name_at_its_rate(tmp_path: Path) -> None:
    for name, value in (("b.png", 200), ("a.png", 100), ("c.jpg", 50)):
        cv2.imwrite(str(tmp_path / name), np.full((20, 30, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source(str(tmp_path), fps=2, image_fps=1)
    assert isinstance(src, ImageFolderSource)
    frames = list(src)
    assert [f.ts for f in frames] == [0.0, 1.0, 2.0]
    assert [int(f.image[0, 0, 0]) for f in frames] == [100, 200, 50]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: _write(d / "junk.mp4", b"\x00garbage" * 400), "cannot open as video"),
        (lambda d: _write(d / "empty.mp4", b""), "cannot open as video"),
        (lambda d: _mkdir(d / "nothing"), "folder has no images"),
        (lambda d: Path("camera:x"), "camera must be given as camera:N"),
    ],
)
def test_bad_sources_raise_a_clear_error(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        list(open_source(str(make(tmp_path))))  # type: ignore[operator]


def test_missing_camera_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="cannot open"):
        open_source("camera:63")


def test_truncated_video_yields_frames_then_fails(tmp_path: Path) -> None:
    data = write_video(tmp_path / "full.avi", 100).read_bytes()
    cut = _write(tmp_path / "cut.avi", data[: len(data) // 2])
    got = []
    with pytest.raises(SourceError, match="broke off"):
        for frame in open_source(str(cut), fps=2):
            got.append(frame.ts)
    assert got and got[-1] > 1.0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_prefetch_keeps_order_and_errors(tmp_path: Path) -> None:
    data = write_video(tmp_path / "full.avi", 100).read_bytes()
    cut = _write(tmp_path / "cut.avi", data[: len(data) // 2])
    direct: list[float] = []
    with pytest.raises(SourceError, match="broke off"):
        direct.extend(f.ts for f in VideoFileSource(str(cut), 2))
    prefetched = open_source(str(cut), fps=2)
    assert isinstance(prefetched, Prefetched)
    got: list[float] = []
    with pytest.raises(SourceError, match="broke off"):
        got.extend(f.ts for f in prefetched)
    assert got == direct


def test_prefetch_stops_when_closed_early(tmp_path: Path) -> None:
    source = open_source(str(write_video(tmp_path / "v.avi", 300)), fps=10)
    for frame in source:
        if frame.ts >= 1.0:
            break
    decoder = [t for t in threading.enumerate() if t.name == "deskwatch-decode"][-1]
    assert decoder.is_alive()  # blocked on a full queue
    source.close()
    assert not decoder.is_alive()
