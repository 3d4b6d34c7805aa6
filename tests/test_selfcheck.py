"""The pre-shift self-check on real footage and on darkened, blurred and backlit copies."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache

import cv2
import numpy as np
import pytest

from deskwatch.arrays import Image, as_image
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source
from deskwatch.checks.selfcheck import TIPS, SelfCheckResult, run_self_check
from deskwatch.config import Policy
from deskwatch.events.event import Event
from deskwatch.perception.detectors.face import FaceDetector, FaceDetectorOptions
from deskwatch.pipeline import Pipeline
from tests.conftest import shared_file
from tests.test_cli import deskwatch

CLIP = ("data", "dev", "videos", "webcam-centre.mp4")


@cache
def _frames() -> tuple[Frame, ...]:
    """Three seconds of the dev clip at 5 fps (kept in memory only)."""
    src = open_source(str(shared_file(*CLIP)), 5.0)
    try:
        return tuple(f for f in src if f.ts < 3.0)
    finally:
        src.close()


@cache
def _face_box() -> tuple[int, int, int, int]:
    frame = _frames()[0]
    with FaceDetector(FaceDetectorOptions()) as detector:
        faces = detector.find(frame.image, 0.0)
    i = faces.largest()
    assert i is not None
    x1, y1, x2, y2 = (int(v) for v in faces.xyxy[i])
    return x1, y1, x2, y2


def _darkened(image: Image) -> Image:
    return as_image((image.astype(np.float32) * 0.15).astype(np.uint8))


def _blurred(image: Image) -> Image:
    return as_image(cv2.GaussianBlur(image, (0, 0), 8))


def _backlit(image: Image) -> Image:
    """A bright window behind, the face in its shadow."""
    out = np.clip(image.astype(np.float32) * 0.6 + 150, 0, 255)
    x1, y1, x2, y2 = _face_box()
    pad_x, pad_y = (x2 - x1) // 3, (y2 - y1) // 3
    y1, x1 = max(0, y1 - pad_y), max(0, x1 - pad_x)
    out[y1 : y2 + pad_y, x1 : x2 + pad_x] = image[y1 : y2 + pad_y, x1 : x2 + pad_x] * 0.45
    return as_image(out.astype(np.uint8))


def _check(change: Callable[[Image], Image] | None = None) -> SelfCheckResult:
    frames = _frames()
    if change is not None:
        frames = tuple(Frame(change(f.image), f.ts, f.index) for f in frames)
    return run_self_check(frames)


def test_dev_footage_passes() -> None:
    result = _check()
    assert result.passed, result.to_dict()
    n = result.numbers
    assert n.face_rate == 1.0 and n.mesh_rate == 1.0
    assert 0.2 < n.face_height < 0.6 and abs(n.face_cx - 0.5) < 0.1


@pytest.mark.parametrize(
    ("change", "failed", "tip"),
    [
        (_darkened, "light", TIPS["dark"]),
        (_blurred, "focus", TIPS["focus"]),
        (_backlit, "backlight", TIPS["backlight"]),
    ],
    ids=["dark", "blurred", "backlit"],
)
def test_bad_pictures_fail_with_the_right_tip(
    change: Callable[[Image], Image], failed: str, tip: str
) -> None:
    result = _check(change)
    assert not result.passed
    assert failed in result.failed and tip in result.tips, result.to_dict()


def test_result_is_one_event_of_numbers() -> None:
    event = _check(_blurred).to_event(12.0)
    assert event.type == "self_check" and event.start_s == event.end_s == 12.0
    assert event.evidence["passed"] == 0.0 and event.evidence["face_rate"] == 1.0
    assert all(isinstance(v, float) for v in event.evidence.values())
    assert len(json.dumps(event.to_json_dict())) < 2000  # numbers, never an image


def test_no_frames_fails_with_a_tip() -> None:
    result = run_self_check([])
    assert not result.passed and TIPS["no_face"] in result.tips


def test_low_confidence_marks_every_event() -> None:
    """After a failed self-check the agent's pipeline marks events for reviewers."""
    blank = as_image(np.zeros((48, 64, 3), np.uint8))  # nobody there: away, with no detectors
    seen: dict[bool, list[Event]] = {}
    for low in (False, True):
        with Pipeline(Policy(), detectors=[], low_confidence=low) as pipeline:
            found = [e for i in range(100) for e in pipeline.process(Frame(blank, i / 2, i))[1]]
            seen[low] = found + pipeline.finish()
    assert [e.type for e in seen[True]] == [e.type for e in seen[False]] != []
    assert all(e.evidence["low_confidence"] == 1.0 for e in seen[True])
    assert not any("low_confidence" in e.evidence for e in seen[False])


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [(["--seconds", "2"], 0, "self-check passed"), (["--json", "--seconds", "1"], 0, '"passed"')],
)
def test_cli_check(args: list[str], code: int, text: str) -> None:
    run = deskwatch("check", str(shared_file(*CLIP)), *args)
    assert run.returncode == code, run.stderr
    assert text in run.stdout and "Traceback" not in run.stderr


def test_cli_check_bad_source_is_exit_2() -> None:
    run = deskwatch("check", "missing.mp4")
    assert run.returncode == 2 and "missing.mp4: no such file" in run.stderr
