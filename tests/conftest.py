"""Shared fixtures: paths to ../shared footage (skipped when absent) and observation makers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deskwatch.perception.detections import Detections
from deskwatch.perception.observation import CameraHealth, HeadPose, Observation

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV = SHARED / "data" / "dev"
YOLOX = SHARED / "models" / "yolox-nano"


def shared_file(*parts: str) -> Path:
    """A file under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is provided on dev and CI machines only)")
    return path


def face_boxes(n: int, width: float = 100.0) -> Detections:
    boxes = [[200.0 + i * 150, 100.0, 200.0 + i * 150 + width, 100.0 + width] for i in range(n)]
    return Detections.from_lists(boxes, [0.9 - 0.05 * i for i in range(n)], ["face"] * n)


HEALTHY = CameraHealth(120.0, 50.0, 300.0, False, False, False, False)
COVERED = CameraHealth(5.0, 2.0, 1.0, True, True, True, False)


def make_obs(
    ts: float,
    faces: int = 1,
    head: HeadPose | None = None,
    camera: CameraHealth = HEALTHY,
) -> Observation:
    obs = Observation(ts=ts, frame_index=int(ts * 2), width=640, height=480)
    obs.faces = face_boxes(faces)
    obs.head = head if faces else None
    obs.camera = camera
    return obs


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1)
