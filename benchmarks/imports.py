"""Cold import time (wall and CPU) and modules loaded by ``import deskwatch.server.app`` (and, for
comparison, the edge pipeline), each in a fresh interpreter.

    python -m benchmarks.imports [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
t, c = time.perf_counter(), time.process_time()
import {module}
s, cpu = time.perf_counter() - t, time.process_time() - c
heavy = ("mediapipe", "cv2", "onnxruntime", "numpy")
print(json.dumps({{"s": s, "cpu_s": cpu, "modules": len(sys.modules),
    "mediapipe": sum(m.split(".")[0] == "mediapipe" for m in sys.modules),
    "loaded": [m for m in heavy if m in sys.modules]}}))
"""
MODULES = ("deskwatch.server.app", "deskwatch.pipeline")


def measure(module: str, runs: int) -> dict[str, object]:
    samples = []
    for _ in range(runs):
        code = PROBE.format(module=module)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        out.check_returncode()
        samples.append(json.loads(out.stdout))
    times = [float(s["s"]) for s in samples]
    cpu = [float(s["cpu_s"]) for s in samples]
    last = samples[-1]
    return {
        "module": module,
        "min_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "cpu_min_s": round(min(cpu), 3),  # less sensitive to a busy machine than wall time
        "modules": last["modules"],
        "mediapipe_modules": last["mediapipe"],
        "heavy_loaded": last["loaded"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for module in MODULES:
        print(json.dumps(measure(module, args.runs)))


if __name__ == "__main__":
    main()
