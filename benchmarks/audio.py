"""Room-audio and self-check cost: CPU ms per second of audio, % of a core, check run time.

Run: ``.venv/bin/python -m benchmarks.audio`` (``--wav FILE`` for real speech; without it,
noise with bursts of tone stands in). The self-check is timed on ../shared's webcam clip.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from deskwatch.audio import SAMPLE_RATE, AudioAnalyser, open_audio
from deskwatch.audio.analysis import Samples
from deskwatch.capture.source import open_source
from deskwatch.checks import run_self_check

CLIP = Path(__file__).resolve().parents[1].parent / "shared/data/dev/videos/webcam-centre.mp4"


def _generated(seconds: int) -> Samples:
    """Noise with a half-second 200 Hz tone burst every second (VAD sees both kinds)."""
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE * seconds) / SAMPLE_RATE
    tone = np.where(t % 1.0 < 0.5, 8000 * np.sin(2 * np.pi * 200 * t), 0.0)
    mix = rng.normal(0, 300, t.size) + tone
    samples: Samples = np.clip(mix, -32768, 32767).astype(np.int16)
    return samples


def audio_cost(samples: Samples, repeats: int) -> tuple[float, float]:
    """CPU ms per second of audio and the % of one core that is at real time."""
    analyser, seconds = AudioAnalyser(), samples.size / SAMPLE_RATE
    start = time.process_time()
    for _ in range(repeats):
        for i in range(0, samples.size, SAMPLE_RATE):
            analyser.analyse(samples[i : i + SAMPLE_RATE], i / SAMPLE_RATE)
    ms = (time.process_time() - start) * 1000 / (seconds * repeats)
    return ms, ms / 10  # ms per 1000 ms of audio -> percent


def _wav_samples(path: str) -> Samples:
    source = open_audio(path)
    chunks = [c.samples for c in source]  # in memory, for timing only
    source.close()
    return np.concatenate(chunks)


def self_check_time(seconds: float) -> tuple[float, float, int]:
    """Wall and CPU seconds of one self-check over ``seconds`` of the clip at 5 fps."""
    src = open_source(str(CLIP), 5.0)
    frames = [f for f in src if f.ts < seconds]
    src.close()
    wall, cpu = time.perf_counter(), time.process_time()
    run_self_check(frames)
    return time.perf_counter() - wall, time.process_time() - cpu, len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wav", help="a WAV file to analyse (default: generated 60 s)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check-seconds", type=float, default=5.0)
    args = parser.parse_args()
    samples = _wav_samples(args.wav) if args.wav else _generated(60)
    ms, share = audio_cost(samples, args.repeats)
    print(f"audio: {ms:.2f} CPU ms per second of audio = {share:.3f} % of one core")
    if CLIP.exists():
        wall, cpu, n = self_check_time(args.check_seconds)
        print(
            f"self-check: {n} frames ({args.check_seconds:.0f} s at 5 fps) in {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU (excluding capture)"
        )
    else:
        print(f"self-check: skipped, {CLIP} not present")


if __name__ == "__main__":
    main()
