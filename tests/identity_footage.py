"""Footage for the identity tests and benchmark: the dev clips, and a still picture held
to the camera, synthesised from one real frame the way a camera would see it.

A photo or a phone screen in a hand wobbles a few pixels and a degree or two, tilts a little
out of the picture's plane, catches changing light, and the sensor adds noise: every replayed
frame differs from the last (no frozen-frame shortcut), but no part of the face moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deskwatch.arrays import Image
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"
VIDEOS = DEV / "videos"


@dataclass(frozen=True)
class Hand:
    """How much a held picture moves between frames (each a standard deviation)."""

    shift_px: float = 3.0  # in the picture's plane
    rotation_deg: float = 2.0  # in the picture's plane
    tilt: float = 0.02  # corners moved by this share of the size: out-of-plane tilt
    flicker: float = 0.08  # brightness gain varies by up to this share
    noise: float = 4.0  # sensor noise, grey levels


def clip_frames(path: Path, fps: float = 2.0, start_s: float = 0.0) -> list[Frame]:
    """Frames of a clip from ``start_s`` at ``fps`` (source time kept)."""
    source = open_source(str(path), fps)
    try:
        return [f for f in source if f.ts >= start_s]
    finally:
        source.close()


def held_still(still: Image, count: int, seed: int = 0, hand: Hand = Hand()) -> list[Image]:
    """``count`` camera pictures of ``still`` held up to the camera."""
    rng = np.random.default_rng(seed)
    h, w = still.shape[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    wobble = np.zeros(3)
    out = []
    for _ in range(count):
        wobble = 0.6 * wobble + 0.4 * rng.normal(0.0, 1.0, 3)  # a hand drifts, it does not jump
        centre = (w / 2, h / 2)
        turn = np.array(cv2.getRotationMatrix2D(centre, wobble[2] * hand.rotation_deg, 1.0), float)
        turn[:, 2] += wobble[:2] * hand.shift_px
        image = cv2.warpAffine(still, turn, (w, h), borderMode=cv2.BORDER_REFLECT)
        moved = (corners + rng.normal(0.0, hand.tilt, (4, 2)) * (w, h)).astype(np.float32)
        tilt = cv2.getPerspectiveTransform(corners, moved)
        image = cv2.warpPerspective(image, tilt, (w, h), borderMode=cv2.BORDER_REFLECT)
        light = 1.0 + rng.uniform(-hand.flicker, hand.flicker)
        noisy = image * light + rng.uniform(-8.0, 8.0) + rng.normal(0.0, hand.noise, image.shape)
        out.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return out


def replayed(still: Image, seconds: float, fps: float = 2.0, seed: int = 0) -> Iterator[Frame]:
    """The held still as the camera's frames, ``fps`` per second for ``seconds``."""
    for i, image in enumerate(held_still(still, int(seconds * fps), seed)):
        yield Frame(image, i / fps, i)


def half(frames: list[Frame], side: int) -> list[Frame]:
    """The left (0) or right (1) half of each frame: one person of a side-by-side clip."""
    out = []
    for f in frames:
        w = f.width // 2
        out.append(
            Frame(np.ascontiguousarray(f.image[:, side * w : (side + 1) * w]), f.ts, f.index)
        )
    return out


def there_and_back(frames: list[Frame], fps: float) -> list[Frame]:
    """The clip forwards then backwards: a real movement that goes and comes back."""
    images = [f.image for f in frames]
    images += images[-2::-1]
    return [Frame(image, i / fps, i) for i, image in enumerate(images)]
