"""Posture-only phone cue: precision and recall per source on the phone validation split.

Run: ``.venv/bin/python -m benchmarks.posture`` (needs ../shared). Every image of
``../shared/data/train/phone/images/val`` goes through deskwatch's own face, face mesh and
hands detectors, built as ``deskwatch inspect`` builds them for a single image; its raw
posture cue (``fusion.phone_posture``, before the cap) is compared with the label (a
non-empty label file = a phone). ``hfuet`` is the one real webcam session, with wallets and
AirPods cases held like phones as negatives; the other sources hold phones only (precision
there is 1 by construction). The object detector's held-phone cue
(``ObjectConcepts.phone_held``) is reported the same way: the shipped model's, or with
``--objects`` and ``--labels`` another model's.

``fusion.POSTURE_PRECISION`` (the cap on posture alone) is hfuet's posture precision: at
the rule's ``min_confidence`` and, as posture fires on few images there, at ``CAP_AT``.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2

from deskwatch.arrays import as_image
from deskwatch.capture.frame import Frame
from deskwatch.config import Policy
from deskwatch.perception.detectors.face_mesh import FaceMeshConfig
from deskwatch.perception.detectors.hands import HandsConfig
from deskwatch.perception.detectors.objects import ObjectsConfig
from deskwatch.perception.fusion import POSTURE_PRECISION, fuse, phone_posture
from deskwatch.perception.observation import Observation
from deskwatch.pipeline import build_detectors
from deskwatch.rules.phone import PhoneConfig

PHONE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train" / "phone"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
CAP_AT = 0.3  # the posture level the cap's figure is read at (the rule's is also printed)


@dataclass(frozen=True)
class Scored:
    """One validation image: its source, what it shows, and the cues found on it."""

    source: str
    note: str  # the manifest's note: "airpods", "wallet", or empty
    phone: bool  # the label
    face: bool
    posture: float
    held: float


def image_policy(objects: Path | None, labels: Path | None) -> Policy:
    """The default detectors set for single images (as ``inspect``), plus an object model."""
    policy = Policy()
    for name, config in policy.detectors.items():
        if isinstance(config, FaceMeshConfig | HandsConfig):
            policy.detectors[name] = config.model_copy(update={"static_image": True})
    if objects is not None:
        policy.detectors["objects"] = ObjectsConfig(model_path=objects, labels_path=labels)
    return policy


def score(policy: Policy, root: Path) -> list[Scored]:
    """Every validation image through the detectors, in the manifest's order."""
    with (root / "manifest.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "val"]
    detectors = build_detectors(policy)
    out = []
    try:
        for i, row in enumerate(rows):
            picture = cv2.imread(str(root / row["file"]), cv2.IMREAD_COLOR)
            frame = Frame(as_image(picture), float(i), i)
            obs = Observation(frame.ts, i, frame.width, frame.height)
            for det in detectors:
                det.detect(frame, obs)
            obs.cues = fuse(obs)
            held = obs.objects.phone_held if obs.objects else 0.0
            phone = int(row["boxes"]) > 0
            out.append(
                Scored(
                    row["source"], row["note"], phone, obs.face_count > 0, phone_posture(obs), held
                )
            )
    finally:
        for det in detectors:
            det.close()
    return out


def figures(rows: list[Scored], threshold: float, held: bool = False) -> str:
    """``precision (tp/predicted), recall (tp/positives)`` of one cue at ``threshold``."""
    said = [r for r in rows if (r.held if held else r.posture) >= threshold]
    tp = sum(r.phone for r in said)
    positives = sum(r.phone for r in rows)
    precision = f"{tp / len(said):.2f} ({tp}/{len(said)})" if said else "- (0/0)"
    recall = f"{tp / positives:.2f} ({tp}/{positives})" if positives else "- (0/0)"
    return f"precision {precision:<16} recall {recall}"


def report(scored: list[Scored], threshold: float, held: bool) -> None:
    sources = sorted({r.source for r in scored})
    print(f"phone validation split: {len(scored)} images; rule threshold {threshold}")
    print(f"cap in use: fusion.POSTURE_PRECISION = {POSTURE_PRECISION}")
    for source in [*sources, "all"]:
        rows = [r for r in scored if source in ("all", r.source)]
        faces = sum(r.face for r in rows)
        pos = sum(r.phone for r in rows)
        print(f"\n{source}: {pos} phone, {len(rows) - pos} no phone; a face on {faces}")
        print(f"  posture at {threshold}: {figures(rows, threshold)}")
        print(f"  posture at {CAP_AT}: {figures(rows, CAP_AT)}")
        if held:
            print(f"  held phone at {threshold}: {figures(rows, threshold, held=True)}")
    hfuet = [r for r in scored if r.source == "hfuet"]
    if hfuet:
        print("\nhfuet posture by threshold:")
        for t in THRESHOLDS:
            print(f"  {t:.1f}: {figures(hfuet, t)}")
        print(f"cap figure, hfuet posture at {CAP_AT}: {figures(hfuet, CAP_AT)}")
        share = sum(r.phone for r in hfuet) / len(hfuet)
        print(f"hfuet share of phone images (a guess's precision): {share:.2f}")
        fired = Counter(r.note or "phone" for r in hfuet if r.posture >= threshold)
        print(f"hfuet images where posture fires, by what is held: {dict(sorted(fired.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PHONE, help="the phone training set")
    parser.add_argument("--objects", type=Path, help="an object model (ONNX)")
    parser.add_argument("--labels", type=Path, help="its class names, one per line")
    args = parser.parse_args()
    if not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"{args.data}/manifest.csv not found (../shared is needed)")
    scored = score(image_policy(args.objects, args.labels), args.data)
    report(scored, PhoneConfig().min_confidence, held=True)  # the shipped model, or --objects


if __name__ == "__main__":
    main()
