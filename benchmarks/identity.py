"""Identity check: CPU cost on one core, and false accepts / rejects on ../shared's footage.

Run: ``.venv/bin/python -m benchmarks.identity`` (needs the ``identity`` extra and ../shared).

1. Cost: face mesh ms per frame (two faces looked for, as the check does), ms per dlib
   descriptor, model loading, and one whole verification (``window_s`` at 2 fps).
2. Pairs: every face the check would use (at least ``min_face_px`` wide, turned at most
   ``max_yaw_deg``, at least ``min_brightness`` bright) on every frame at 2 fps of every clip
   and on every image gets a descriptor and a label: the two webcam clips show one worker,
   the man in both Intel GIFs is one person, the woman in the second GIF another, each face
   in the still images someone else again. Every pair is compared at the threshold, with
   same-person pairs within one clip and across two clips counted apart.
3. The verifier itself (``FaceWindow`` with liveness): a template enrolled from one webcam
   clip; windows of the other clip (one per second of start time), the other people's
   clips, and a still picture of the worker held to the camera (noise, wobble, tilt,
   flicker; ``tests/identity_footage.py``) or frozen. First the passive window alone, then
   the whole check as the agent runs it: the passive window and, when it saw the worker's
   face but no cue, the challenge (up to ``challenge_s``) over the rest of the frames, with
   the challenge time used. The still clip followed by the other clip's look aside and
   back (real frames, each clip in order) shows a still worker who then moves.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tests.identity_footage import DEV, clip_frames, half, held_still

from deskwatch.capture.frame import Frame
from deskwatch.identity.check import IdentityResult, brightness, check_window, face_box, pose_of
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.encoder import Descriptor, FaceEncoder, FaceEncoderOptions
from deskwatch.identity.extra import IdentityUnavailableError
from deskwatch.perception.detectors.face_mesh import FaceMesh, FaceMeshOptions
from deskwatch.perception.observation import Box

WHO = {  # clip -> who is in it, left to right
    "webcam-centre.mp4": ("worker",),
    "webcam-centre-left-centre.mp4": ("worker",),
    "one-person-head-turns.gif": ("intel-man",),
    "two-people-head-turns.gif": ("intel-woman", "intel-man"),
}
SKIPPED = "people-enter-leave-room.mp4"  # far away, from behind: no face to compare
ENROL_FROM = ("webcam-centre.mp4", "webcam-centre-left-centre.mp4")


@dataclass(frozen=True)
class Sample:
    who: str
    source: str
    descriptor: Descriptor


def _frames(path: Path) -> list[Frame]:
    if path.suffix == ".jpg":
        image = cv2.imread(str(path))
        return [] if image is None else [Frame(np.asarray(image, np.uint8), 0.0, 0)]
    return clip_frames(path, 2.0)


def _usable(frame: Frame, landmarks: NDArray[np.float64], config: IdentityConfig) -> Box | None:
    """The face's box if the check would compare it (size, facing, light), else None."""
    box = face_box(landmarks)
    if box.width < config.min_face_px or abs(pose_of(landmarks).yaw_deg) > config.max_yaw_deg:
        return None
    return box if brightness(frame, box) >= config.min_brightness else None


def _label(name: str, box: Box, width: int, index: int) -> str:
    people = WHO.get(name)
    if people is None:
        return f"{name}#{index}"  # still images: everyone is someone else
    return people[min(len(people) - 1, int(box.cx / width * len(people)))]


def samples(config: IdentityConfig) -> list[Sample]:
    """A descriptor for every usable face on every sampled frame."""
    out: list[Sample] = []
    paths = sorted((DEV / "videos").iterdir()) + sorted((DEV / "images").iterdir())
    ts = 0.0
    with FaceEncoder.create_from_options(FaceEncoderOptions()) as encoder:
        for path in (p for p in paths if p.name != SKIPPED):
            options = FaceMeshOptions(max_faces=4, static_image=path.suffix == ".jpg")
            with FaceMesh.create_from_options(options) as mesh:
                for frame in _frames(path):
                    ts += 1.0
                    faces = mesh.faces(frame.image, ts)
                    boxes = [b for b in (_usable(frame, lm, config) for lm in faces) if b]
                    for i, box in enumerate(sorted(boxes, key=lambda b: b.cx)):
                        ts += 1e-3
                        who = _label(path.name, box, frame.width, i)
                        out.append(Sample(who, path.name, encoder.describe(frame.image, box, ts)))
    return out


def pair_errors(found: list[Sample], threshold: float) -> dict[str, tuple[int, int]]:
    """(errors, pairs) for different people, same person within a clip, and across clips."""
    counts: dict[str, list[int]] = {"different": [0, 0], "within": [0, 0], "across": [0, 0]}
    for a, b in itertools.combinations(found, 2):
        d = float(np.linalg.norm(a.descriptor - b.descriptor))
        kind = "different" if a.who != b.who else "within" if a.source == b.source else "across"
        counts[kind][1] += 1
        counts[kind][0] += d <= threshold if kind == "different" else d > threshold
    return {k: (v[0], v[1]) for k, v in counts.items()}


# --- cost --------------------------------------------------------------------------------
def cost(config: IdentityConfig, repeats: int) -> dict[str, float]:
    """CPU ms on this (one) core: mesh per frame, per descriptor, model load, one check."""
    clip = DEV / "videos" / "webcam-centre-left-centre.mp4"
    shots = [f for f in clip_frames(clip, 2.0) if f.ts <= config.window_s]
    mesh_s = describe_s = 0.0
    with (
        FaceMesh.create_from_options(FaceMeshOptions(max_faces=2)) as mesh,
        FaceEncoder.create_from_options(FaceEncoderOptions()) as encoder,
    ):
        for k in range(repeats):
            for frame in shots:
                ts = k * 100.0 + frame.ts
                t0 = time.process_time()
                faces = mesh.faces(frame.image, ts)
                t1 = time.process_time()
                encoder.describe(frame.image, face_box(faces[0]), ts)
                mesh_s, describe_s = mesh_s + t1 - t0, describe_s + time.process_time() - t1
    template = np.zeros((1, 128), np.float32)
    load_s = check_s = 0.0
    for _ in range(repeats):
        c0 = time.process_time()
        window = check_window(config)
        c1 = time.process_time()
        for frame in shots:
            window.add(frame)
        window.verdict(template)
        check_s += time.process_time() - c1
        window.close()
        load_s += c1 - c0
    calls = repeats * len(shots)
    return {
        "mesh_ms": mesh_s * 1000 / calls,
        "descriptor_ms": describe_s * 1000 / calls,
        "load_ms": load_s * 1000 / repeats,
        "check_ms": check_s * 1000 / repeats,
        "frames": float(len(shots)),
    }


# --- the verifier ------------------------------------------------------------------------
def _verdict(
    template: NDArray[np.float32], shots: Iterable[Frame], config: IdentityConfig
) -> IdentityResult:
    window = check_window(config)
    try:
        window.fill(shots)
        return window.verdict(template)
    finally:
        window.close()


def _whole_check(
    template: NDArray[np.float32], shots: Iterable[Frame], config: IdentityConfig
) -> IdentityResult | None:
    """The check as the agent runs it (None: the frames ended during the challenge)."""
    window = check_window(config)
    try:
        for frame in shots:
            window.add(frame)
            result = window.decide(template, frame.ts)
            if result is not None:
                return result
        return None
    finally:
        window.close()


def _outcome(result: IdentityResult) -> str:
    if result.outcome.value == "identity_unverified":
        why = [r for r in result.reasons if r != "liveness_failed"] or ["liveness_failed"]
        return f"unverified ({why[0].removeprefix('reason_')})"
    return result.outcome.value.removeprefix("identity_")


def _summary(results: list[IdentityResult]) -> str:
    counts = Counter(_outcome(r) for r in results)
    words = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    dist = [r.distance for r in results if r.distance is not None]
    alive = [r.liveness.score for r in results if r.liveness is not None and not r.liveness.passed]
    words += f"; distance {min(dist):.2f}-{max(dist):.2f}" if dist else ""
    return words + (f"; liveness of the failed at most {max(alive):.2f}" if alive else "")


def _when(result: IdentityResult) -> str:
    if result.challenge_s is None:
        return "passively"
    if result.outcome.value == "identity_verified":
        return "in the challenge"
    return f"after {result.challenge_s:.0f} s of challenge"


def _challenge_summary(tries: list[IdentityResult | None]) -> str:
    """Outcomes with when they were decided, and the challenge time used by those it passed."""
    counts: Counter[str] = Counter()
    used = []
    for r in tries:
        if r is None:
            counts["frames ended during the challenge"] += 1
            continue
        counts[f"{_outcome(r)} {_when(r)}"] += 1
        if r.challenge_s is not None and r.outcome.value == "identity_verified":
            used.append(r.challenge_s)
    words = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    words += f"; challenge used {min(used):.1f}-{max(used):.1f} s" if used else ""
    done = [r for r in tries if r is not None]
    alive = [r.liveness.score for r in done if r.liveness is not None and not r.liveness.passed]
    return words + (f"; liveness of the failed at most {max(alive):.2f}" if alive else "")


def _windows(frames: list[Frame], seconds: float) -> list[list[Frame]]:
    """The clip from every whole second on, while a whole window is left; the check stops
    ``seconds`` after its first frame, as in the agent."""
    out = []
    for s in np.arange(0.0, frames[-1].ts, 1.0):
        rest = [f for f in frames if f.ts >= s]
        if rest and rest[-1].ts - rest[0].ts >= seconds:
            out.append(rest)
    return out


def _still_then_look(seconds: float) -> list[list[Frame]]:
    """Windows of the still clip, each followed by the other clip's look aside and back."""
    still = clip_frames(DEV / "videos" / "webcam-centre.mp4", 2.0)
    look = clip_frames(DEV / "videos" / "webcam-centre-left-centre.mp4", 2.0, start_s=5.0)
    out = []
    for part in _windows(still, seconds):
        shift = part[-1].ts + 0.5 - look[0].ts
        out.append(part + [Frame(f.image, f.ts + shift, f.index) for f in look])
    return out


def _replays(name: str, seeds: int, seconds: float) -> list[list[Frame]]:
    frames = clip_frames(DEV / "videos" / name, 2.0)
    count = int(seconds * 2) + 1
    out = []
    for k, at in enumerate(np.linspace(1.0, frames[-1].ts - 1.0, 3)):
        still = next(f for f in frames if f.ts >= at).image
        for seed in range(seeds):
            images = held_still(still, count, seed=seed + 10 * k)
            out.append([Frame(image, i / 2, i) for i, image in enumerate(images)])
    return out


def _attempts(
    other: str, config: IdentityConfig, seconds: float, seeds: int
) -> dict[str, list[list[Frame]]]:
    """The worker's own attempts: windows of ``other``, held stills and a frozen picture of
    ``seconds`` of frames."""
    still = clip_frames(DEV / "videos" / other, 2.0)[4].image
    return {
        f"{other}: windows of the same worker": _windows(
            clip_frames(DEV / "videos" / other, 2.0), config.window_s
        ),
        f"stills of the worker held to the camera ({other})": _replays(other, seeds, seconds),
        f"a frozen picture of the worker ({other})": [
            [Frame(still.copy(), i / 2, i) for i in range(int(seconds * 2) + 1)]
        ],
    }


def verifier(config: IdentityConfig, seeds: int) -> list[tuple[str, str, str]]:
    """(template from, attempts, outcomes in words) for every group of attempts: the passive
    window alone, then the whole check with the challenge."""
    from deskwatch.identity.enrolment import EnrolmentWindow, enrolment_window, template_of

    rows = []
    gif = clip_frames(DEV / "videos" / "two-people-head-turns.gif", 2.0)
    others = {
        "one-person-head-turns.gif": clip_frames(DEV / "videos" / "one-person-head-turns.gif"),
        "two-people-head-turns.gif": gif,
        "two-people-head-turns.gif, woman's half": half(gif, 0),
        "two-people-head-turns.gif, man's half": half(gif, 1),
    }
    enrol = config.model_copy(update={"min_enrol_spread_deg": 2.0})
    for source in ENROL_FROM:
        window: EnrolmentWindow = enrolment_window(enrol)
        window.fill(clip_frames(DEV / "videos" / source, 4.0))
        window.close()
        template = template_of(window)
        other = next(n for n in ENROL_FROM if n != source)
        mine = _attempts(other, config, config.window_s, seeds)
        windows = next(iter(mine))
        passive = {
            windows: mine.pop(windows),
            **{f"{k} (other people)": [v] for k, v in others.items()},
        }
        passive.update(mine)
        for group, tries in passive.items():
            rows.append((source, group, _summary([_verdict(template, t, config) for t in tries])))
        whole = _attempts(other, config, config.window_s + config.challenge_s + 1.0, seeds)
        whole["webcam-centre.mp4's still windows, then the other clip's look aside and back"] = (
            _still_then_look(config.window_s)
        )
        for group, tries in whole.items():
            words = _challenge_summary([_whole_check(template, t, config) for t in tries])
            rows.append((source, f"{group}, with the challenge", words))
    return rows


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)


def _print_pairs(config: IdentityConfig) -> None:
    found = samples(config)
    people = sorted({s.who for s in found})
    print(f"\n{len(found)} usable faces, {len(people)} people, from {DEV}")
    for threshold in sorted({0.4, 0.5, config.max_distance, 0.6, 0.7}):
        e = pair_errors(found, threshold)
        mark = "  <- policy default" if threshold == config.max_distance else ""
        (fa, diff), (fw, sw), (fx, sx) = e["different"], e["within"], e["across"]
        print(
            f"threshold {threshold:.2f}: false accepts {fa}/{diff} different-person pairs, "
            f"false rejects {fw}/{sw} same-clip and {fx}/{sx} cross-clip same-person pairs{mark}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="held stills per picture")
    args = parser.parse_args()
    if not (DEV / "videos").is_dir():
        print(f"{DEV} not found: this benchmark needs ../shared's footage", file=sys.stderr)
        raise SystemExit(2)
    _one_core()
    config = IdentityConfig(enabled=True)
    try:
        c = cost(config, args.repeats)
    except IdentityUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(
        f"one core: face mesh {c['mesh_ms']:.1f} ms/frame, dlib descriptor "
        f"{c['descriptor_ms']:.0f} ms, models loaded in {c['load_ms']:.0f} ms; one "
        f"verification ({c['frames']:.0f} frames = {config.window_s:.0f} s at 2 fps, "
        f"{config.descriptor_frames} descriptors) {c['check_ms']:.0f} ms CPU + the load"
    )
    _print_pairs(config)
    print(
        f"\nthe verifier (threshold {config.max_distance}, liveness on, passive window "
        f"{config.window_s:.0f} s, challenge up to {config.challenge_s:.0f} s; templates enrolled "
        "with min_enrol_spread_deg = 2, as the dev clips' worker barely turns the head):"
    )
    for source, group, words in verifier(config, args.seeds):
        print(f"  template from {source} | {group}: {words}")


if __name__ == "__main__":
    main()
