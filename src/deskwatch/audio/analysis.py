"""30 ms frames of 16 kHz mono int16 -> dBFS levels and a voice-activity flag per frame."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deskwatch.errors import DeskwatchError
from deskwatch.perception.observation import AudioObservation

SAMPLE_RATE = 16_000
FRAME_MS = 30
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
SILENCE_DBFS = -100.0
# The background floor is the level of the quietest tenth of a stretch's frames.
_FLOOR_QUANTILE = 0.1
# A speech frame must stand out of the steady floor (the VAD alone takes loud steady noise
# for speech) and be audible at all (it also flags digital silence now and then).
_SPEECH_OVER_FLOOR_DB = 6.0
_SPEECH_MIN_DBFS = -55.0

Samples = NDArray[np.int16]


def level_dbfs(samples: NDArray[Any]) -> float:
    """RMS level relative to full scale (0 dBFS = a full-scale square wave), floored at -100."""
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64)))) / 32768.0
    return max(SILENCE_DBFS, 20.0 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def _load_vad(aggressiveness: int) -> Any:
    try:
        import webrtcvad
    except ImportError:
        raise DeskwatchError(
            "room audio needs the audio extra: pip install 'deskwatch[audio]'"
        ) from None
    return webrtcvad.Vad(aggressiveness)


class AudioAnalyser:
    """Reduces a stretch of samples to an ``AudioObservation``; keeps no sample after."""

    def __init__(self, aggressiveness: int = 2) -> None:
        self._vad = _load_vad(aggressiveness)

    def analyse(self, samples: Samples, ts: float) -> AudioObservation:
        """Levels and speech share of ``samples`` (16 kHz mono int16) starting at ``ts``."""
        n = samples.size // FRAME_SAMPLES
        frames = samples[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)
        levels = _frame_dbfs(frames)
        floor = float(np.quantile(levels, _FLOOR_QUANTILE)) if n else SILENCE_DBFS
        loud_enough = max(_SPEECH_MIN_DBFS, floor + _SPEECH_OVER_FLOOR_DB)
        speech = sum(
            self._vad.is_speech(f.tobytes(), SAMPLE_RATE)
            for f, level in zip(frames, levels, strict=True)
            if level >= loud_enough
        )
        return AudioObservation(
            ts=ts,
            duration_s=samples.size / SAMPLE_RATE,
            level_dbfs=level_dbfs(samples),
            floor_dbfs=floor,
            speech_ratio=speech / n if n else 0.0,
        )


def _frame_dbfs(frames: Samples) -> NDArray[np.float64]:
    """dBFS level of each row of ``frames``, floored at -100."""
    energy = np.mean(np.square(frames, dtype=np.float64), axis=1)
    rms = np.sqrt(energy) / 32768.0
    levels: NDArray[np.float64] = np.maximum(SILENCE_DBFS, 20.0 * np.log10(np.maximum(rms, 1e-10)))
    return levels
