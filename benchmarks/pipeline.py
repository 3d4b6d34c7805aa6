"""Edge-pipeline cost: CPU ms per analysed frame per stage, % of a core, speed on files.

Run: ``.venv/bin/python -m benchmarks.pipeline`` (uses ../shared footage when present;
the demo clip always), with the shipped object detector on; ``--no-objects`` turns it off,
``--objects MODEL --labels FILE`` names another model. Prints one table per scenario.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.config import Policy, policy_from_dict
from deskwatch.demo.clip import DemoSource
from deskwatch.pipeline import Pipeline

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev" / "videos"
UNGATED = {"analysis": {"full_check_every_s": 0.001}}
WARMUP_FRAMES = 6
MIN_SOURCE_S = 120.0


@dataclass
class Scenario:
    name: str
    open: type[FrameSource] | None
    spec: str


@dataclass
class Figures:
    frames: int
    source_s: float
    wall_s: float
    decode_cpu_s: float
    stage_ms: dict[str, float]  # CPU ms per analysed frame, averaged over all frames
    stage_calls: dict[str, int]

    @property
    def pipeline_ms(self) -> float:
        return sum(self.stage_ms.values())

    def core_percent(self, fps: float) -> float:
        return self.pipeline_ms * fps / 10.0


def load(make: type[FrameSource] | None, spec: str, fps: float) -> tuple[list[Frame], float, float]:
    """Decode the analysed frames once: (frames, decode CPU s, source seconds)."""
    source: FrameSource = DemoSource(fps) if make is DemoSource else open_source(spec, fps)
    start = time.process_time()
    frames = list(source)
    return frames, time.process_time() - start, frames[-1].ts + 1 / fps


def replay(frames: list[Frame], min_source_s: float) -> Iterator[Frame]:
    """The clip again and again (time keeps increasing) until ``min_source_s`` of source."""
    span = frames[-1].ts - frames[0].ts + (frames[1].ts - frames[0].ts)
    offset, index = 0.0, 0
    while True:
        for f in frames:
            if offset + f.ts > min_source_s:
                return
            yield Frame(f.image, offset + f.ts, index)
            index += 1
        offset += span


def measure(frames: list[Frame], policy: Policy, warmup: int = WARMUP_FRAMES) -> Figures:
    """Steady-state cost: the first ``warmup`` frames (model start-up) are not counted."""
    with Pipeline(policy) as pipeline:
        stream = replay(frames, MIN_SOURCE_S)
        for _, frame in zip(range(warmup), stream, strict=False):
            pipeline.process(frame)
        pipeline.stats.clear()
        count, start, first = 0, time.perf_counter(), None
        for frame in stream:
            first = frame.ts if first is None else first
            pipeline.process(frame)
            count, last = count + 1, frame.ts
        wall = time.perf_counter() - start
        stats = pipeline.stats
    return Figures(
        frames=count,
        source_s=last - (first or 0.0),
        wall_s=wall,
        decode_cpu_s=0.0,
        stage_ms={k: v.cpu_s * 1000 / count for k, v in stats.items()},
        stage_calls={k: v.calls for k, v in stats.items()},
    )


def file_speed(spec: str, policy: Policy) -> tuple[float, float]:
    """Whole-file analysis speed as a multiple of real time: with and without start-up.

    Start-up is building the models and the first frame's inference (delegate set-up).
    """
    start = time.perf_counter()
    source = open_source(spec, policy.analysis.fps)
    with Pipeline(policy) as pipeline:
        frames = iter(source)
        pipeline.process(next(frames))
        ready = time.perf_counter()
        count = 1 + sum(1 for f in frames if pipeline.process(f))
    end = time.perf_counter()
    source_s = count / policy.analysis.fps
    return source_s / (end - start), (source_s - 1 / policy.analysis.fps) / (end - ready)


def report(name: str, gated: Figures, ungated: Figures, fps: float) -> None:
    print(f"\n## {name}: {gated.frames} analysed frames, {gated.source_s:.0f} s of source")
    print(f"{'stage':<14}{'runs':>6}{'ms/frame':>10}{'ungated runs':>14}{'ungated ms':>12}")
    for stage in ungated.stage_ms:
        print(
            f"{stage:<14}{gated.stage_calls.get(stage, 0):>6}{gated.stage_ms.get(stage, 0):>10.2f}"
            f"{ungated.stage_calls[stage]:>14}{ungated.stage_ms[stage]:>12.2f}"
        )
    print(
        f"pipeline: {gated.pipeline_ms:.2f} ms/frame gated vs {ungated.pipeline_ms:.2f} ungated "
        f"({ungated.pipeline_ms / gated.pipeline_ms:.1f}x less); "
        f"{gated.core_percent(fps):.2f}% of one core at {fps:g} fps"
    )
    print(f"pipeline wall time: {gated.source_s / gated.wall_s:.0f}x real time (decoding excluded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fps", type=float, default=2.0, help="analysis rate")
    parser.add_argument("--objects", type=Path, help="a YOLO ONNX model instead of the shipped one")
    parser.add_argument("--labels", type=Path, help="class names for --objects")
    parser.add_argument("--no-objects", action="store_true", help="turn the object detector off")
    args = parser.parse_args()
    detectors: dict[str, object] = {}
    if args.objects:
        detectors = {"objects": {"model_path": str(args.objects), "labels_path": args.labels}}
    if args.no_objects:
        detectors = {"objects": {"enabled": False}}
    gated = policy_from_dict({"analysis": {"fps": args.fps}, "detectors": detectors})
    ungated = policy_from_dict(
        {"analysis": {"fps": args.fps, **UNGATED["analysis"]}, "detectors": detectors}
    )
    scenarios = [Scenario("steady, synthetic desk (demo clip)", DemoSource, "demo")]
    for name, file in (
        ("steady, real webcam (webcam-centre)", "webcam-centre.mp4"),
        ("movement, head turns (one-person-head-turns)", "one-person-head-turns.gif"),
        ("movement, people walking (people-enter-leave-room)", "people-enter-leave-room.mp4"),
    ):
        if (SHARED / file).exists():
            scenarios.append(Scenario(name, None, str(SHARED / file)))
        else:
            print(f"skipping {file}: ../shared not present")
    for sc in scenarios:
        frames, decode_s, source_s = load(sc.open, sc.spec, args.fps)
        report(sc.name, measure(frames, gated), measure(frames, ungated), args.fps)
        print(f"decode and sample: {decode_s * 1000 / source_s:.1f} ms CPU per source second")
        if sc.open is None:
            total, steady = file_speed(sc.spec, gated)
            print(f"whole file: {total:.1f}x real time, {steady:.1f}x after start-up")


if __name__ == "__main__":
    main()
