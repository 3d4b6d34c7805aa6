"""Edge-pipeline cost: CPU ms per analysed frame per stage, % of a core, speed on files.

Run: ``.venv/bin/python -m benchmarks.pipeline`` (uses ../shared footage when present;
the demo clip always). ``--objects ../shared/models/yolox-nano/yolox_nano.onnx --labels
../shared/models/yolox-nano/coco_classes.txt`` adds the object detector. Prints one table
per scenario.
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
from deskwatch.demo import DemoSource
from deskwatch.pipeline import Pipeline

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev" / "videos"
UNGATED = {"analysis": {"full_check_every_s": 0.001}}


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


def _frames(source: FrameSource, decode: list[float]) -> Iterator[Frame]:
    it = iter(source)
    while True:
        t = time.process_time()
        frame = next(it, None)
        decode[0] += time.process_time() - t
        if frame is None:
            return
        yield frame


def measure(make: type[FrameSource] | None, spec: str, policy: Policy) -> Figures:
    source: FrameSource = (
        DemoSource(policy.analysis.fps)
        if make is DemoSource
        else open_source(spec, policy.analysis.fps)
    )
    decode = [0.0]
    frames, last = 0, 0.0
    with Pipeline(policy) as pipeline:
        start = time.perf_counter()
        for frame in _frames(source, decode):
            pipeline.process(frame)
            frames, last = frames + 1, frame.ts
        wall = time.perf_counter() - start
        stats = pipeline.stats
    return Figures(
        frames=frames,
        source_s=last + 1 / policy.analysis.fps,
        wall_s=wall,
        decode_cpu_s=decode[0],
        stage_ms={k: v.cpu_s * 1000 / frames for k, v in stats.items()},
        stage_calls={k: v.calls for k, v in stats.items()},
    )


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
    decode_ms = gated.decode_cpu_s * 1000 / gated.frames
    speed = gated.source_s / gated.wall_s
    print(f"decode+sample: {decode_ms:.2f} ms/analysed frame; file speed {speed:.1f}x real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fps", type=float, default=2.0, help="analysis rate")
    parser.add_argument("--objects", type=Path, help="also run this YOLO ONNX model")
    parser.add_argument("--labels", type=Path, help="class names for --objects")
    args = parser.parse_args()
    detectors = {}
    if args.objects:
        detectors = {"objects": {"model_path": str(args.objects), "labels_path": args.labels}}
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
        report(
            sc.name, measure(sc.open, sc.spec, gated), measure(sc.open, sc.spec, ungated), args.fps
        )


if __name__ == "__main__":
    main()
