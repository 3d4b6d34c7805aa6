"""Labelled images in YOLO layout: ``images/<split>/*.jpg`` beside ``labels/<split>/*.txt``.

A label line is ``class cx cy w h`` (normalised). The phone set in ``../shared`` has one
class (phone); the built set has deskwatch's classes. ``manifest.csv``, when present,
names each file's source so figures can be read per source.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deskwatch.arrays import Image, as_image
from deskwatch.errors import DeskwatchError

Boxes = NDArray[np.float32]  # [n, 5]: class, x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class Sample:
    """One labelled image: its file, split, source and boxes in pixels."""

    image: Path
    split: str
    source: str
    note: str
    boxes: Boxes

    @property
    def stem(self) -> str:
        return self.image.stem


def read_image(path: Path) -> Image:
    """A BGR picture from disk, or a clear error."""
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise DeskwatchError(f"{path}: not a readable image")
    return as_image(image)


def read_labels(path: Path, width: int, height: int) -> Boxes:
    """YOLO lines as pixel boxes; a missing or empty file is an image with no boxes."""
    rows = []
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        c, cx, cy, w, h = (float(p) for p in parts)
        rows.append(
            [
                c,
                (cx - w / 2) * width,
                (cy - h / 2) * height,
                (cx + w / 2) * width,
                (cy + h / 2) * height,
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(-1, 5)


def write_labels(path: Path, boxes: Boxes, width: int, height: int) -> None:
    lines = []
    for c, x1, y1, x2, y2 in boxes.tolist():
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        w, h = (x2 - x1) / width, (y2 - y1) / height
        lines.append(f"{int(c)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _manifest(root: Path) -> dict[str, tuple[str, str]]:
    """File stem → (source, note) from ``manifest.csv``; empty when there is none."""
    path = root / "manifest.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {Path(r["file"]).stem: (r["source"], r.get("note", "")) for r in csv.DictReader(fh)}


def load(root: Path, split: str) -> list[Sample]:
    """Every image of ``split`` under ``root`` with its boxes, sorted by file name."""

    folder = root / "images" / split
    if not folder.is_dir():
        raise DeskwatchError(f"{folder}: no such folder (expected YOLO layout images/{split})")
    meta = _manifest(root)
    samples = []
    for image in sorted(folder.glob("*.jpg")):
        h, w = read_image(image).shape[:2]
        label = root / "labels" / split / f"{image.stem}.txt"
        source, note = meta.get(image.stem, (image.stem.split("__")[0], ""))
        samples.append(Sample(image, split, source, note, read_labels(label, w, h)))
    return samples
