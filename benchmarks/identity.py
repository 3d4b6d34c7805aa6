"""Identity check: CPU ms per verification on one core, and false accepts / rejects.

Run: ``.venv/bin/python -m benchmarks.identity`` (needs the ``identity`` extra and ../shared).

Faces are sampled from every clip (2 per second) and every image of ../shared/data/dev; each
gets a dlib descriptor and an identity label: the two webcam clips show one worker, the man
in both Intel GIFs is one person, the woman in the second GIF another, and each face in the
still images someone else again. Every pair of samples is compared at the threshold: a
different-person pair within it is a false accept, a same-person pair beyond it a false
reject. Faces narrower than ``min_face_px`` are skipped, as the check itself skips them.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source
from deskwatch.identity.check import FaceWindow, face_box
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.encoder import Descriptor, FaceEncoder, FaceEncoderOptions
from deskwatch.perception.face_detection import FaceDetector, FaceDetectorOptions
from deskwatch.perception.face_mesh import FaceMesh, FaceMeshOptions
from deskwatch.perception.observation import Box

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"
VIDEOS = {  # clip -> who is in it, by where the face's centre is (fraction of the width)
    "webcam-centre.mp4": ("worker",),
    "webcam-centre-left-centre.mp4": ("worker",),
    "one-person-head-turns.gif": ("intel-man",),
    "two-people-head-turns.gif": ("intel-woman", "intel-man"),
}


@dataclass(frozen=True)
class Sample:
    who: str
    source: str
    descriptor: Descriptor


def _label(name: str, box: Box, width: int, index: int) -> str:
    people = VIDEOS.get(name)
    if people is None:
        return f"{name}#{index}"  # still images: everyone is someone else
    return people[min(len(people) - 1, int(box.cx / width * len(people)))]


def _frames(path: Path) -> Iterator[Frame]:
    if path.suffix == ".jpg":
        image = cv2.imread(str(path))
        yield Frame(np.asarray(image, np.uint8), 0.0, 0)
        return
    source = open_source(str(path), 2.0)
    try:
        yield from source
    finally:
        source.close()


def _boxes(name: str, frame: Frame, finder: FaceDetector, mesh: FaceMesh) -> list[Box]:
    """One-person clips: the face mesh's box, as the check uses; others: every face found."""
    if len(VIDEOS.get(name, ())) == 1:
        landmarks = mesh.landmarks(frame.image, frame.ts + 1e-3)
        return [] if landmarks is None else [face_box(landmarks)]
    return [Box(*(float(v) for v in xyxy)) for xyxy in finder.find(frame.image, frame.ts).xyxy]


def samples(min_face_px: int) -> list[Sample]:
    """A descriptor for every usable face on every sampled frame."""
    out: list[Sample] = []
    paths = sorted((DEV / "videos").iterdir()) + sorted((DEV / "images").iterdir())
    ts = 0.0
    with FaceEncoder.create_from_options(FaceEncoderOptions()) as encoder:
        for path in paths:
            if path.name == "people-enter-leave-room.mp4":
                continue  # faces far away, from behind: nothing to compare
            with (
                FaceDetector.create_from_options(FaceDetectorOptions()) as finder,
                FaceMesh.create_from_options(FaceMeshOptions()) as mesh,
            ):
                for frame in _frames(path):
                    for i, box in enumerate(_boxes(path.name, frame, finder, mesh)):
                        if box.width >= min_face_px:
                            ts += 1.0
                            who = _label(path.name, box, frame.width, i)
                            descriptor = encoder.describe(frame.image, box, ts)
                            out.append(Sample(who, path.name, descriptor))
    return out


def error_counts(found: list[Sample], threshold: float) -> tuple[int, int, int, int]:
    """(false accepts, different pairs, false rejects, same pairs) over every pair."""
    fa = diff = fr = same = 0
    for a, b in itertools.combinations(found, 2):
        d = float(np.linalg.norm(a.descriptor - b.descriptor))
        if a.who == b.who:
            same += 1
            fr += d > threshold
        else:
            diff += 1
            fa += d <= threshold
    return fa, diff, fr, same


def verification_ms(config: IdentityConfig, repeats: int) -> tuple[float, float]:
    """CPU and wall ms of one whole check (mesh on every frame of the window + descriptors)."""
    clip = DEV / "videos" / "webcam-centre-left-centre.mp4"
    shots = [f for f in _frames(clip) if f.ts <= config.window_s]
    template = np.zeros((1, 128), np.float32)
    cpu = wall = 0.0
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        mesh = FaceMesh.create_from_options(FaceMeshOptions())
        encoder = FaceEncoder.create_from_options(FaceEncoderOptions())
        window = FaceWindow(config, mesh, encoder, config.descriptor_frames)
        for frame in shots:
            window.add(frame)
        window.verdict(template)
        window.close()
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
    return cpu * 1000 / repeats, wall * 1000 / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    cv2.setNumThreads(1)
    config = IdentityConfig(enabled=True)
    cpu, wall = verification_ms(config, args.repeats)
    print(
        f"one verification ({config.window_s:.0f} s window at 2 fps, "
        f"{config.descriptor_frames} descriptors, models loaded each time), one core: "
        f"{cpu:.0f} ms CPU, {wall:.0f} ms wall"
    )
    found = samples(config.min_face_px)
    people = sorted({s.who for s in found})
    print(f"{len(found)} face samples, {len(people)} people, from {DEV}")
    for threshold in sorted({0.4, 0.5, 0.55, config.max_distance, 0.7}):
        fa, diff, fr, same = error_counts(found, threshold)
        mark = "  <- policy default" if threshold == config.max_distance else ""
        print(
            f"threshold {threshold:.2f}: false accepts {fa}/{diff} different-person pairs "
            f"(FAR {fa / max(diff, 1):.4f}), false rejects {fr}/{same} same-person pairs "
            f"(FRR {fr / max(same, 1):.4f}){mark}"
        )


if __name__ == "__main__":
    main()
