"""The camera's usual view, learnt per session, and how far a frame strays from it.

A grey thumbnail is cut into a ``GRID_ROWS`` x ``GRID_COLS`` grid. Each cell keeps its mean
grey level, its contrast, its sharpness (mean squared Laplacian) and a small picture of
its layout. The baseline is the per-cell median over the first healthy seconds, then an
exponential moving average while the view stays healthy (the caller decides when).
Cells, not the whole picture, are compared, so a person moving in front changes a few
cells while a covered, defocused or turned camera changes most of them. The layout is kept
twice: as grey levels (robust to what moves in front) and as where the picture's edges are
(sharp to a small turn), the latter read on the picture's border cells only.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deskwatch import lazy

if TYPE_CHECKING:
    import cv2

    from deskwatch.arrays import Image
else:
    cv2 = lazy.module("cv2")

Floats = NDArray[np.float32]
Cells = NDArray[np.bool_]
GRID_COLS, GRID_ROWS = 8, 6
LAYOUT_CELL_PX = 8  # each cell's layout picture is this many pixels square
# A cell whose layout varies less than this (grey levels; gradient magnitude for the
# structure) shows nothing to compare.
LAYOUT_MIN_CONTRAST = 2.0
# Zero-mean normalised correlation at which a cell's layout still matches the baseline,
# and at which it is the same scene closely enough to compare its sharpness.
LAYOUT_MIN_CORRELATION = 0.5
SHARPNESS_MIN_CORRELATION = 0.8
# Fewer comparable cells than this share of the grid: the measure says nothing (ratio 1).
MIN_CELL_SHARE = 0.25
# The picture's edges: its top row and the sides of its upper two thirds, where a worker
# seated in front of the camera seldom is. A turned camera changes them as well as the rest;
# a worker filling most of the picture who gets up changes the rest only.
EDGE = np.zeros((GRID_ROWS, GRID_COLS), dtype=bool)
EDGE[0] = True
EDGE[: GRID_ROWS * 2 // 3, [0, -1]] = True


@dataclass(frozen=True, slots=True)
class ViewStats:
    """Per-cell statistics of one thumbnail; every array is ``(GRID_ROWS, GRID_COLS)``
    except the layouts, ``(GRID_ROWS * LAYOUT_CELL_PX, GRID_COLS * LAYOUT_CELL_PX)``."""

    mean: Floats  # grey level, 0..255
    std: Floats  # grey-level standard deviation
    energy: Floats  # mean squared Laplacian: sharpness
    layout: Floats  # the picture, area-downscaled
    structure: Floats  # its gradient magnitude, area-downscaled

    def blend(self, other: ViewStats, weight: float) -> ViewStats:
        """``weight`` of ``other`` mixed into these statistics."""
        keep = 1.0 - weight
        return ViewStats(
            *(a * keep + b * weight for a, b in zip(self.arrays(), other.arrays(), strict=True))
        )

    def arrays(self) -> tuple[Floats, Floats, Floats, Floats, Floats]:
        return self.mean, self.std, self.energy, self.layout, self.structure


def _cells(values: Floats) -> Floats:
    """``values`` (cropped to the grid) as ``(rows, cell_h, cols, cell_w)``."""
    h, w = values.shape[0] // GRID_ROWS, values.shape[1] // GRID_COLS
    cropped = values[: h * GRID_ROWS, : w * GRID_COLS]
    return cropped.reshape(GRID_ROWS, h, GRID_COLS, w)


def view_stats(grey: Image) -> ViewStats:
    """The per-cell statistics of a grey thumbnail (at least a few pixels per cell)."""
    pixels = grey.astype(np.float32)
    cells = _cells(pixels)
    laplacian = np.asarray(cv2.Laplacian(pixels, cv2.CV_32F), dtype=np.float32)
    gradient = np.hypot(cv2.Sobel(pixels, cv2.CV_32F, 1, 0), cv2.Sobel(pixels, cv2.CV_32F, 0, 1))
    return ViewStats(
        mean=cells.mean(axis=(1, 3)),
        std=cells.std(axis=(1, 3)),
        energy=np.square(_cells(laplacian)).mean(axis=(1, 3)),
        layout=_layout_size(pixels),
        structure=_layout_size(gradient),
    )


def _layout_size(values: Floats) -> Floats:
    size = (GRID_COLS * LAYOUT_CELL_PX, GRID_ROWS * LAYOUT_CELL_PX)
    return np.asarray(cv2.resize(values, size, interpolation=cv2.INTER_AREA), np.float32)


def median_stats(samples: list[ViewStats]) -> ViewStats:
    """Cell by cell, the median of ``samples``: robust to a person moving through them."""
    columns = zip(*(s.arrays() for s in samples), strict=True)
    return ViewStats(*(np.median(np.stack(c), axis=0).astype(np.float32) for c in columns))


def layout_correlation(base: Floats, now: Floats) -> tuple[Floats, Cells]:
    """Per cell, the zero-mean normalised correlation of two layouts, and whether
    the baseline's cell has structure enough to compare (a flat cell now correlates 0)."""
    shape = (GRID_ROWS, LAYOUT_CELL_PX, GRID_COLS, LAYOUT_CELL_PX)
    a = base.reshape(shape)
    b = now.reshape(shape)
    a = a - a.mean(axis=(1, 3), keepdims=True)
    b = b - b.mean(axis=(1, 3), keepdims=True)
    aa, bb = np.square(a).sum(axis=(1, 3)), np.square(b).sum(axis=(1, 3))
    denominator = np.sqrt(aa * bb)
    ncc = np.where(denominator > 1e-6, (a * b).sum(axis=(1, 3)) / np.maximum(denominator, 1e-6), 0)
    textured = np.sqrt(aa / (LAYOUT_CELL_PX**2)) >= LAYOUT_MIN_CONTRAST
    return ncc.astype(np.float32), textured


@dataclass(frozen=True, slots=True)
class Deviation:
    """How a frame differs from the baseline; each ratio is 1 (or 0) when unmeasurable."""

    covered_share: float  # share of the baseline's bright cells now much darker and flat
    sharpness_ratio: float  # sharpness / baseline's, over the cells whose layout matches
    layout_match: float  # share of the baseline's structured cells whose layout matches:
    # over the whole picture, or where its edges are on the border, whichever is higher
    brightness_ratio: float  # mean grey level / baseline's


@dataclass(frozen=True, slots=True)
class CoverTest:
    """When a cell counts as covered: darker than ``max_brightness_ratio`` of the baseline
    and flat (contrast under ``max_contrast_ratio`` of the baseline or ``flat_max_contrast``);
    only cells at least ``min_brightness`` bright in the baseline can tell."""

    max_brightness_ratio: float
    max_contrast_ratio: float
    flat_max_contrast: float
    min_brightness: float


def deviation(base: ViewStats, now: ViewStats, cover: CoverTest) -> Deviation:
    """Compare a frame's statistics with the baseline's."""
    coverable = base.mean >= cover.min_brightness
    flat = now.std < np.maximum(cover.max_contrast_ratio * base.std, cover.flat_max_contrast)
    covered = coverable & flat & (now.mean < cover.max_brightness_ratio * base.mean)
    ncc, textured = layout_correlation(base.layout, now.layout)
    comparable = textured & ~covered
    same = comparable & (ncc >= SHARPNESS_MIN_CORRELATION)
    base_energy = float(base.energy[same].sum())
    sharp = _share(same, same, GRID_ROWS * GRID_COLS) is not None and base_energy > 0
    return Deviation(
        covered_share=_share(covered, coverable, GRID_ROWS * GRID_COLS) or 0.0,
        sharpness_ratio=float(now.energy[same].sum()) / base_energy if sharp else 1.0,
        layout_match=_layout_match(
            comparable & (ncc >= LAYOUT_MIN_CORRELATION), comparable, base, now, covered
        ),
        brightness_ratio=float(now.mean.mean() / max(float(base.mean.mean()), 1.0)),
    )


def _layout_match(
    matching: Cells, comparable: Cells, base: ViewStats, now: ViewStats, covered: Cells
) -> float:
    """The share of comparable cells whose grey-level layout matches, or of the border's
    cells whose edges are where they were, whichever is higher; 1 if too few compare."""
    ncc, textured = layout_correlation(base.structure, now.structure)
    border = EDGE & textured & ~covered
    shares = [
        _share(matching, comparable, EDGE.size),
        _share(border & (ncc >= LAYOUT_MIN_CORRELATION), border, int(EDGE.sum())),
    ]
    return max((x for x in shares if x is not None), default=1.0)


def _share(hits: Cells, among: Cells, cells: int) -> float | None:
    """``hits`` as a share of ``among``; None if fewer than ``MIN_CELL_SHARE`` of ``cells``."""
    n = int(among.sum())
    return float(hits.sum()) / n if n and n >= MIN_CELL_SHARE * cells else None


class RepeatWatch:
    """Recent frames by hash: finds a frame that repeats one from further back than the
    previous frame (a looping feed) within ``window_s`` seconds of frame time."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._ring: deque[tuple[float, bytes]] = deque()
        self._last_seen: dict[bytes, float] = {}

    def repeat_age_s(self, grey: Image, ts: float) -> float:
        """Seconds back to an identical earlier frame (not the previous one), else 0."""
        digest = hashlib.blake2b(grey.tobytes(), digest_size=16).digest()
        previous = self._ring[-1][1] if self._ring else None
        seen = self._last_seen.get(digest)
        self._ring.append((ts, digest))
        self._last_seen[digest] = ts
        while self._ring and self._ring[0][0] < ts - self._window_s:
            old_ts, old = self._ring.popleft()
            if self._last_seen.get(old) == old_ts:
                del self._last_seen[old]
        return ts - seen if seen is not None and digest != previous else 0.0

    def clear(self) -> None:
        self._ring.clear()
        self._last_seen.clear()
