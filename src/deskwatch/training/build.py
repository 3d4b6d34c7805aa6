"""Build the desk-object training set: real images relabelled plus synthesised ones.

Phones keep their human labels. Persons, drinks, food and paper are labelled by the COCO
YOLOX-nano as a teacher (it already knows them; the phone set labels only phones), so
the student keeps those classes while it learns phones from the webcam's viewpoint.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deskwatch.arrays import as_image
from deskwatch.perception.detectors.objects import (
    DRINKS,
    FOODS,
    ObjectDetector,
    ObjectDetectorOptions,
)
from deskwatch.training import lookalikes, synth
from deskwatch.training.dataset import Boxes, Sample, load, read_image, write_labels

if TYPE_CHECKING:
    from deskwatch.arrays import Image

CLASSES = ("phone", "person", "drink", "food", "paper")
TEACHER_CLASS = {"person": "person", "book": "paper"} | dict.fromkeys(DRINKS, "drink")
TEACHER_CLASS |= dict.fromkeys(FOODS, "food")
TEACHER_MIN_CONFIDENCE = 0.45
Made = tuple[str, "Image", Boxes, str, str]  # stem, picture, boxes, source, note


@dataclass
class Written:
    """What the builder wrote, for the manifest."""

    rows: list[dict[str, str]] = field(default_factory=list)

    def add(
        self,
        out: Path,
        split: str,
        stem: str,
        image: Image | Path,
        boxes: Boxes,
        source: str,
        note: str,
    ) -> None:
        import cv2

        target = out / "images" / split / f"{stem}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(image, Path):
            shutil.copyfile(image, target)
            h, w = read_image(target).shape[:2]
        else:
            cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            h, w = image.shape[:2]
        write_labels(out / "labels" / split / f"{stem}.txt", boxes, w, h)
        self.rows.append(
            {
                "file": f"images/{split}/{stem}.jpg",
                "split": split,
                "source": source,
                "note": note,
                "boxes": str(len(boxes)),
            }
        )


class Teacher:
    """The COCO model, labelling the classes the phone set does not label."""

    def __init__(self, model: Path, labels: Path) -> None:
        options = ObjectDetectorOptions(model, labels, "yolox", TEACHER_MIN_CONFIDENCE)
        self._model = ObjectDetector.create_from_options(options)
        self._ts = 0.0

    def label(self, image: Image) -> Boxes:
        self._ts += 1.0
        found = self._model.find(image, self._ts)
        rows = [
            [CLASSES.index(TEACHER_CLASS[lab]), *map(float, xyxy)]
            for lab, xyxy in zip(found.labels, found.xyxy, strict=True)
            if lab in TEACHER_CLASS
        ]
        return np.asarray(rows, dtype=np.float32).reshape(-1, 5)


def relabelled(samples: list[Sample], teacher: Teacher) -> Iterator[tuple[Sample, Boxes]]:
    """Each real sample with its human phone boxes and the teacher's other classes."""

    for sample in samples:
        image = read_image(sample.image)
        yield sample, np.vstack([sample.boxes, teacher.label(image)])


def synthesised(
    backgrounds: list[Sample], phones: list[Image], teacher: Teacher, params: synth.SynthParams
) -> Iterator[Made]:
    """(stem, image, boxes, source, note) for every synthesised picture."""

    rng = np.random.default_rng(params.seed)
    finder = synth.SceneFinder()
    try:
        for bg in backgrounds:
            image = read_image(bg.image)
            face, _ = finder.find(image)
            if face is None:
                continue
            canvas = synth.frame_like_webcam(image, face, params, rng)[0]
            face, hands = finder.find(canvas)
            if face is None:
                continue
            scene = synth.Scene(canvas, face, hands)
            base = teacher.label(canvas)
            yield from _variants(bg.stem, scene, base, phones, params, rng)
    finally:
        finder.close()


def _variants(
    stem: str,
    scene: synth.Scene,
    base: Boxes,
    phones: list[Image],
    params: synth.SynthParams,
    rng: synth.Rng,
) -> Iterator[Made]:
    """Phones, then look-alikes, each pasted alone into a copy of ``scene``."""
    face_h = scene.face[3] - scene.face[1]
    for i in range(params.phones_per_background):
        drawn = rng.random() < params.drawn_back_share
        piece = synth.phone_back(rng) if drawn else phones[int(rng.integers(len(phones)))]
        length = face_h * rng.uniform(*params.phone_length_per_face)
        made = _held(scene, piece, length, params, rng)
        if made is not None:
            image, box, where = made
            boxes = np.vstack([base, np.asarray([[0, *box]], np.float32)])
            yield f"synth__{stem}__phone{i}", image, boxes, "synth-phone", where
    for i in range(params.lookalikes_per_background):
        kind = str(rng.choice(lookalikes.LOOKALIKES, p=np.asarray(params.lookalike_weights)))
        length = face_h * rng.uniform(*lookalikes.LENGTH_PER_FACE[kind])
        made = _held(scene, lookalikes.DRAW[kind](rng), length, params, rng)
        if made is not None:
            image, box, where = made
            boxes = base
            if kind in lookalikes.LOOKALIKE_CLASS:
                label = CLASSES.index(lookalikes.LOOKALIKE_CLASS[kind])
                boxes = np.vstack([base, np.asarray([[label, *box]], np.float32)])
            yield f"synth__{stem}__{kind}{i}", image, boxes, f"synth-{kind}", where


def _held(
    scene: synth.Scene, piece: Image, length: float, params: synth.SynthParams, rng: synth.Rng
) -> tuple[Image, synth.Box4, str] | None:
    """``piece`` held somewhere in a copy of the scene, fingers and all, as a webcam JPEG.

    Phones and look-alikes are held alike (fingers too), so only the object tells them apart.
    """
    where = str(rng.choice(synth.PLACES, p=np.asarray(params.place_weights)))
    image, box = _one(scene, piece, where, length, params, rng)
    if box is None:
        return None
    if where != "ear" and rng.random() < params.finger_cover_p:
        synth.cover_with_fingers(image, box, synth.skin_colour(scene.image, scene.face), rng)
    return _finish(image, params, rng), box, where


def _one(
    scene: synth.Scene,
    piece: Image,
    where: str,
    length: float,
    params: synth.SynthParams,
    rng: synth.Rng,
) -> tuple[Image, synth.Box4 | None]:
    image = scene.image.copy()
    centre = synth.place(where, scene, rng)
    angle = rng.uniform(*params.tilt_deg) + (90.0 if where == "ear" and rng.random() < 0.3 else 0.0)
    return image, synth.paste(image, piece, centre, length, angle, params, rng)


def _finish(image: Image, params: synth.SynthParams, rng: synth.Rng) -> Image:
    """Re-encode like a webcam stream's JPEG."""
    import cv2

    quality = int(rng.integers(*params.jpeg_quality))
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return as_image(cv2.imdecode(data, cv2.IMREAD_COLOR)) if ok else image


def build(
    phone_root: Path,
    teacher_model: Path,
    out: Path,
    params: synth.SynthParams,
    progress: Callable[[str, int], None] | None = None,
) -> Written:
    """Write the whole set under ``out`` (YOLO layout, deskwatch's classes, a manifest)."""
    teacher = Teacher(teacher_model, teacher_model.parent / "coco_classes.txt")
    written = Written()
    train, val = load(phone_root, "train"), load(phone_root, "val")
    for sample, boxes in relabelled(train + val, teacher):
        written.add(out, sample.split, sample.stem, sample.image, boxes, sample.source, sample.note)
        if progress:
            progress("relabel", 1)
    phones = synth.cutouts([s for s in train if len(s.boxes)], params)
    backgrounds = [s for s in train if s.source == "facemask"]
    for stem, image, boxes, source, note in synthesised(backgrounds, phones, teacher, params):
        written.add(out, "train", stem, image, boxes, source, note)
        if progress:
            progress("synth", 1)
    _write_manifest(out, written)
    return written


def _write_manifest(out: Path, written: Written) -> None:
    with (out / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "split", "source", "note", "boxes"])
        writer.writeheader()
        writer.writerows(written.rows)
