"""Agent cost next to the pipeline alone, and the backlog drain rate.

Run: ``.venv/bin/python -m benchmarks.agent [--seconds 150] [--events 20000]``. Both runs play
the same steady clip in real time at the policy's default rate; CPU and peak RSS come from
the child's rusage. The drain figure fills an outbox while the server is away, then times
the uploader emptying it into a local server process (SQLite).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tests.agent.conftest import Server, enroll, seed

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev" / "videos"

PIPELINE_ALONE = """
import sys, time
from deskwatch.capture.source import open_source
from deskwatch.config import Policy
from deskwatch.pipeline import Pipeline
policy, end = Policy(), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    src, t0 = open_source(sys.argv[1], policy.analysis.fps), time.monotonic()
    with Pipeline(policy) as p:
        for f in src:
            wait = t0 + f.ts - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            p.process(f)
            if time.monotonic() >= end:
                break
    src.close()
"""


def measure(cmd: list[str], seconds: float) -> tuple[float, float]:
    """Run ``cmd`` for ``seconds`` (then SIGINT); returns (% of one core, peak RSS MiB)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    os.kill(proc.pid, signal.SIGINT)  # not send_signal: it may reap the child first
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    cpu = usage.ru_utime + usage.ru_stime
    return 100 * cpu / wall, usage.ru_maxrss / 1024


def steady(clip: str, seconds: float, work: Path) -> None:
    alone = measure([sys.executable, "-c", PIPELINE_ALONE, clip, str(seconds + 60)], seconds)
    server = Server(work / "server.db")
    seed(server.db_url)
    server.start()
    try:
        enroll(server.url, work / "agent", server.code())
        cmd = [sys.executable, "-m", "deskwatch", "agent", "run", "--source", clip,
               "--realtime", "--repeat", "0", "--state-dir", str(work / "agent"),
               "--page-port", "-1"]  # fmt: skip
        agent = measure(cmd, seconds)
    finally:
        server.stop()
    print(f"steady clip {clip} at the default rate, {seconds:.0f} s each (includes start-up):")
    print(f"  pipeline alone : {alone[0]:5.1f} % of a core, peak RSS {alone[1]:6.0f} MiB")
    print(f"  deskwatch agent: {agent[0]:5.1f} % of a core, peak RSS {agent[1]:6.0f} MiB")


def drain(events: int, batch: int, work: Path) -> None:
    from deskwatch.agent.config import load_credentials
    from deskwatch.agent.outbox import Outbox
    from deskwatch.events.event import Event
    from deskwatch.transport.client import DeviceClient
    from deskwatch.transport.uploader import Uploader

    server = Server(work / "drain.db")
    seed(server.db_url)
    server.start()
    try:
        enroll(server.url, work / "drainer", server.code())
        config = load_credentials(work / "drainer")
        box = Outbox(work / "drainer" / "outbox.db", capacity=events * 2)
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        for i in range(0, events, 1000):
            box.put(
                [
                    Event(
                        id=uuid.uuid4(),
                        type="away",
                        start_s=0,
                        end_s=30,
                        peak_confidence=0.9,
                        started_at=now,
                    )
                    for _ in range(min(1000, events - i))
                ]
            )
        fill = time.perf_counter() - t0
        up = Uploader(box, DeviceClient(config.server_url, config.token), batch_size=batch)
        t0 = time.perf_counter()
        while len(box):
            if up.step() > 0:
                time.sleep(0.05)
        took = time.perf_counter() - t0
        stored = len(server.event_ids())
    finally:
        server.stop()
    print(f"backlog of {events} events, batches of {batch}:")
    print(f"  outbox fill: {events / fill:8.0f} events/s (synchronous=FULL, 1000 per txn)")
    print(f"  drain      : {events / took:8.0f} events/s ({took:.1f} s); server holds {stored}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clip", default=str(SHARED / "webcam-centre.mp4"))
    args = parser.parse_args()
    clip = args.clip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not Path(clip).exists():
            from deskwatch.demo.clip import write_demo_clip

            clip = str(write_demo_clip(work / "demo.mp4"))
        if args.seconds > 0:
            steady(clip, args.seconds, work)
        drain(args.events, args.batch, work)
    print(f"(machine: {os.cpu_count()} cores; self rusage {resource.getrusage(0).ru_maxrss} KiB)")


if __name__ == "__main__":
    main()
