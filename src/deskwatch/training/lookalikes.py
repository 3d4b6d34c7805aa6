"""Drawn look-alikes: things held like a phone that are not one.

Each drawing is BGRA with its own proportions and a size relative to the face (a pen is
long and thin, a cup short); colours and details are drawn from the generator's seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deskwatch.arrays import Image

Rng = np.random.Generator

# Long side relative to the face height (range) for each look-alike.
LENGTH_PER_FACE = {
    "wallet": (0.6, 1.0),
    "remote": (0.9, 1.3),
    "pen": (0.7, 1.0),
    "microphone": (0.8, 1.2),
    "cup": (0.5, 0.8),
    "book": (1.1, 1.6),
    "earbuds_case": (0.3, 0.45),
}


def _canvas(h: int, w: int) -> Image:
    return np.zeros((h, w, 4), np.uint8)


def _texture(piece: Image, rng: Rng, sigma: float) -> Image:
    noise = rng.normal(0, sigma, (*piece.shape[:2], 3))
    piece[..., :3] = np.clip(piece[..., :3] + noise, 0, 255).astype(np.uint8)
    return piece


def wallet(rng: Rng) -> Image:
    """A leather wallet: nearly square, dark, a spine on one side, stitching, soft creases.

    Held up to a webcam it is the look-alike most often taken for the back of a phone."""
    import cv2

    w = int(rng.integers(150, 200))
    piece = _canvas(w * 3 // 4 if rng.random() < 0.5 else int(w * rng.uniform(0.8, 0.95)), w)
    h = piece.shape[0]
    dark = rng.random() < 0.75
    base = rng.integers(8, 45, 3) if dark else rng.integers(40, 120, 3)
    colour = (*(int(v) for v in base), 255)
    cv2.rectangle(piece, (3, 3), (w - 4, h - 4), colour, -1, cv2.LINE_AA)
    spine = (*(int(v * 0.6) for v in base), 255)
    cv2.rectangle(piece, (3, 3), (int(w * 0.08), h - 4), spine, -1)
    stitch = (*(min(255, int(v) + 45) for v in base), 255)
    for x in range(14, w - 14, 9):
        cv2.line(piece, (x, 9), (x + 4, 9), stitch, 1)
        cv2.line(piece, (x, h - 10), (x + 4, h - 10), stitch, 1)
    blotches = cv2.resize(rng.normal(0, 12, (6, 8)), (w, h), interpolation=cv2.INTER_CUBIC)
    piece[..., :3] = np.clip(piece[..., :3] + blotches[..., None], 0, 255).astype(np.uint8)
    piece[..., 3] = np.where(piece[..., 3] > 0, 255, 0).astype(np.uint8)
    return _texture(piece, rng, 7)


def remote(rng: Rng) -> Image:
    import cv2

    piece = _canvas(260, 70)
    grey = int(rng.integers(15, 70))
    cv2.rectangle(piece, (3, 3), (66, 256), (grey, grey, grey, 255), -1, cv2.LINE_AA)
    for row in range(8):
        for col in range(3):
            shade = int(rng.integers(90, 200))
            centre = (14 + col * 21, 40 + row * 26)
            cv2.circle(piece, centre, 6, (shade, shade, shade, 255), -1, cv2.LINE_AA)
    cv2.circle(piece, (35, 16), 7, (40, 40, 200, 255), -1, cv2.LINE_AA)
    return _texture(piece, rng, 4)


def pen(rng: Rng) -> Image:
    import cv2

    piece = _canvas(220, 22)
    colour = (*tuple(int(v) for v in rng.integers(0, 255, 3)), 255)
    cv2.rectangle(piece, (5, 20), (16, 215), colour, -1, cv2.LINE_AA)
    cv2.fillConvexPoly(piece, np.array([[5, 20], [16, 20], [11, 2]]), (60, 60, 60, 255))
    return _texture(piece, rng, 5)


def microphone(rng: Rng) -> Image:
    import cv2

    piece = _canvas(240, 90)
    grey = int(rng.integers(20, 60))
    cv2.rectangle(piece, (32, 80), (58, 236), (grey, grey, grey, 255), -1, cv2.LINE_AA)
    cv2.circle(piece, (45, 45), 42, (110, 110, 110, 255), -1, cv2.LINE_AA)
    for y in range(10, 85, 8):
        cv2.line(piece, (5, y), (85, y), (70, 70, 70, 255), 1)
    piece[..., 3] = np.where(piece[..., :3].sum(-1) > 0, 255, 0).astype(np.uint8)
    return _texture(piece, rng, 5)


def cup(rng: Rng) -> Image:
    import cv2

    piece = _canvas(160, 130)
    colour = (*tuple(int(v) for v in rng.integers(40, 250, 3)), 255)
    cv2.fillConvexPoly(piece, np.array([[8, 20], [122, 20], [110, 155], [20, 155]]), colour)
    cv2.ellipse(piece, (65, 20), (57, 12), 0, 0, 360, (40, 50, 70, 255), -1, cv2.LINE_AA)
    return _texture(piece, rng, 5)


def book(rng: Rng) -> Image:
    import cv2

    piece = _canvas(220, 160)
    cover = (*tuple(int(v) for v in rng.integers(20, 230, 3)), 255)
    cv2.rectangle(piece, (2, 2), (157, 217), cover, -1)
    if rng.random() < 0.5:  # open: white pages with lines of text
        cv2.rectangle(piece, (8, 8), (151, 211), (235, 235, 230, 255), -1)
        for y in range(20, 205, 9):
            cv2.line(piece, (16, y), (int(rng.integers(90, 145)), y), (60, 60, 60, 255), 2)
    return _texture(piece, rng, 4)


def earbuds_case(rng: Rng) -> Image:
    import cv2

    piece = _canvas(130, 110)
    shade = int(rng.integers(200, 250))
    cv2.ellipse(piece, (55, 65), (52, 62), 0, 0, 360, (shade, shade, shade, 255), -1, cv2.LINE_AA)
    cv2.line(piece, (5, 45), (105, 45), (shade - 60, shade - 60, shade - 60, 255), 1, cv2.LINE_AA)
    return _texture(piece, rng, 3)


DRAW: dict[str, Callable[[Rng], Image]] = {
    "wallet": wallet,
    "remote": remote,
    "pen": pen,
    "microphone": microphone,
    "cup": cup,
    "book": book,
    "earbuds_case": earbuds_case,
}
LOOKALIKES = tuple(DRAW)
LOOKALIKE_CLASS = {"cup": "drink", "book": "paper"}  # the rest have no class
