"""Desk-object detector accuracy and cost on ../shared's validation split and dev clips.

    python -m benchmarks.desk_objects [--model PATH] [--labels PATH] [--json OUT]

Without ``--model`` it measures the model shipped in the wheel. Prints, per source of
``../shared/data/train/phone`` val (the ``hfuet`` webcam session apart): phone precision
and recall per image at the detector's default threshold; false alarms per look-alike
kind; agreement with the COCO teacher for person / drink / food / paper; presence per
analysed frame on the dev clips with and without the detector; the events the default
policy raises on each dev clip; and the detector's CPU ms per run on one thread.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from deskwatch.capture.source import VideoFileSource
from deskwatch.config import Policy, policy_from_dict
from deskwatch.perception.detectors.objects import (
    ObjectDetector,
    ObjectDetectorOptions,
    ObjectsConfig,
    default_model,
)
from deskwatch.pipeline import Pipeline
from deskwatch.rules.phone import PhoneConfig
from deskwatch.server.reviews.measured import MEASURED_FILE
from deskwatch.training.build import CLASSES, Teacher
from deskwatch.training.dataset import Sample, load, read_image

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PHONE_SET = SHARED / "data" / "train" / "phone"
COCO = SHARED / "models" / "yolox-nano" / "yolox_nano.onnx"
DEV = SHARED / "data" / "dev" / "videos"
# Seconds a person is in view in people-enter-leave-room.mp4 (../shared/README.md).
ROOM_PRESENT_S = ((7, 20), (23, 43), (49, 69), (74, 86), (93, 119), (123, 135))
EDGE_S = 1.5  # analysed frames this close to an entry or exit are not scored
FPS = 2.0


_TICKS = itertools.count(1)


def _tick() -> float:
    """The next timestamp: the detector wants them increasing across every call."""
    return float(next(_TICKS))


def _ratio(hit: int, total: int) -> float | None:
    return round(hit / total, 3) if total else None


def phone_figures(model: ObjectDetector, samples: list[Sample], threshold: float) -> dict[str, Any]:
    """Per source: phone precision / recall per image; false alarms per look-alike kind."""

    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _i, s in enumerate(samples):
        found = model.find(read_image(s.image), _tick())
        said = found.with_label("phone", "cell phone").max_confidence() >= threshold
        truth = bool(len(s.boxes))
        c = counts[s.source]
        c["tp"] += said and truth
        c["fp"] += said and not truth
        c["fn"] += truth and not said
        if not truth:
            kind = s.note or "no phone"
            c[f"neg:{kind}"] += 1
            c[f"alarm:{kind}"] += said
    out = {}
    for source, c in sorted(counts.items()):
        kinds = sorted(k[4:] for k in c if k.startswith("neg:"))
        out[source] = {
            "images": c["tp"] + c["fn"] + sum(c[f"neg:{k}"] for k in kinds),
            "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
            "false_alarm_rate": {k: _ratio(c[f"alarm:{k}"], c[f"neg:{k}"]) for k in kinds},
        }
    return out


def teacher_agreement(
    model: ObjectDetector, samples: list[Sample], threshold: float
) -> dict[str, Any]:
    """Per class (not phone): image-level precision / recall against the COCO teacher."""

    teacher = Teacher(COCO, COCO.parent / "coco_classes.txt")
    tally: dict[str, list[int]] = {c: [0, 0, 0] for c in CLASSES[1:]}
    for _i, s in enumerate(samples):
        image = read_image(s.image)
        truth = {CLASSES[int(c)] for c in teacher.label(image)[:, 0]}
        found = model.find(image, _tick())
        said = {
            lab
            for lab, conf in zip(found.labels, found.confidence, strict=True)
            if conf >= threshold
        }
        for cls, t in tally.items():
            t[0] += cls in said and cls in truth
            t[1] += cls in said and cls not in truth
            t[2] += cls in truth and cls not in said
    return {c: {"precision": _ratio(t[0], t[0] + t[1]), "recall": _ratio(t[0], t[0] + t[2]),
                "teacher_images": t[0] + t[2]} for c, t in tally.items()}  # fmt: skip


def _policy(model: Path | None, labels: Path | None) -> Policy:
    """The default policy; with ``model`` that object model, with ``None`` objects off."""
    if model is None:
        return policy_from_dict({"detectors": {"objects": {"type": "objects", "enabled": False}}})
    objects = {"type": "objects", "model_path": str(model)}
    if labels is not None:
        objects["labels_path"] = str(labels)
    return policy_from_dict({"detectors": {"objects": objects}})


def presence(policy: Policy) -> dict[str, Any]:
    """Share of analysed frames where "someone is there" matches the truth, per clip."""
    out = {}
    for clip in (
        "people-enter-leave-room.mp4",
        "webcam-centre.mp4",
        "webcam-centre-left-centre.mp4",
    ):
        right = total = 0
        with Pipeline(policy) as pipeline:
            for frame in VideoFileSource(str(DEV / clip), FPS):
                obs, _ = pipeline.process(frame)
                truth = _present(clip, frame.ts)
                if truth is None:
                    continue
                right += (obs.person_count > 0) == truth
                total += 1
        out[clip] = _ratio(right, total)
    return out


def _present(clip: str, ts: float) -> bool | None:
    if clip != "people-enter-leave-room.mp4":
        return True
    if any(abs(ts - edge) < EDGE_S for span in ROOM_PRESENT_S for edge in span):
        return None
    return any(a <= ts <= b for a, b in ROOM_PRESENT_S)


def clip_events(policy: Policy) -> dict[str, dict[str, int]]:
    """Events the default policy (with the measured model) raises on each dev clip."""
    out = {}
    for clip in sorted(p.name for p in DEV.glob("*.mp4")):
        counts: dict[str, int] = defaultdict(int)
        with Pipeline(policy) as pipeline:
            for frame in VideoFileSource(str(DEV / clip), FPS):
                for e in pipeline.process(frame)[1]:
                    counts[e.type] += e.is_open  # each event is emitted open once, when it starts
        out[clip] = dict(counts)
    return out


def cost_ms(model: ObjectDetector, runs: int = 40) -> dict[str, float]:
    """CPU ms per run on one thread (a 640×480 webcam-sized picture)."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    samples = []
    for _i in range(runs):
        start = time.process_time()
        model.find(image, _tick())
        samples.append((time.process_time() - start) * 1000)
    return {"min_ms": round(min(samples), 2), "median_ms": round(statistics.median(samples), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--labels", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--write-measured",
        action="store_true",
        help=f"record phone precision for the review queue in {MEASURED_FILE}",
    )
    args = parser.parse_args()
    if not PHONE_SET.is_dir():
        raise SystemExit(f"{PHONE_SET}: not found (this benchmark needs ../shared)")
    threshold = PhoneConfig.model_fields["min_confidence"].default  # where phone_in_use starts
    path = args.model or default_model()
    model = ObjectDetector(ObjectDetectorOptions(path, args.labels, min_confidence=0.05))
    val = load(PHONE_SET, "val")
    figures: dict[str, Any] = {"model": str(path), "threshold": threshold}
    figures["phone_per_source"] = phone_figures(model, val, threshold)
    if set(CLASSES) <= set(model.names):
        other = ObjectsConfig.model_fields["min_confidence"].default
        figures["other_classes_vs_teacher"] = teacher_agreement(model, val, other)
    figures["cost_one_thread"] = cost_ms(model)
    if DEV.is_dir():
        figures["presence_without_detector"] = presence(_policy(None, None))
        figures["presence_with_detector"] = presence(_policy(path, args.labels))
        figures["dev_clip_events"] = clip_events(_policy(path, args.labels))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if args.write_measured:
        write_measured(figures["phone_per_source"]["hfuet"])


def write_measured(webcam: dict[str, Any]) -> None:
    """Put the webcam session's per-frame phone figures where the review queue reads them."""
    known = json.loads(MEASURED_FILE.read_text()) if MEASURED_FILE.is_file() else {}
    known["phone_in_use"] = {
        "precision": webcam["precision"],
        "recall": webcam["recall"],
        "unit": "per frame",
        "data": "the phone detector on a real laptop-webcam session with phones, wallets "
        "and earbuds cases held alike (hfuet, ../shared validation split)",
        "command": "python -m benchmarks.desk_objects --write-measured",
        "measured_on": time.strftime("%Y-%m-%d"),
    }
    MEASURED_FILE.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
