"""Audio sources: a WAV file, a video's audio track (FFmpeg to memory) or a microphone.

Each yields ``AudioChunk``s of 16 kHz mono int16 samples, one per ``chunk_s`` of source
time. Nothing is written anywhere: FFmpeg's output is read from a pipe.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from deskwatch.audio.analysis import SAMPLE_RATE, Samples
from deskwatch.errors import SourceError


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Samples starting at ``ts`` source seconds (kept in memory only)."""

    samples: Samples
    ts: float


class AudioSource(Protocol):
    name: str

    def __iter__(self) -> Iterator[AudioChunk]: ...

    def close(self) -> None: ...


def to_mono_16k(data: np.ndarray[Any, Any], channels: int, rate: int) -> Samples:
    """Interleaved int16 samples -> mono 16 kHz int16 (linear resampling)."""
    mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.astype(np.float64)
    if rate != SAMPLE_RATE and mono.size:
        n = round(mono.size * SAMPLE_RATE / rate)
        mono = np.interp(np.arange(n) * rate / SAMPLE_RATE, np.arange(mono.size), mono)
    out: Samples = np.clip(np.round(mono), -32768, 32767).astype(np.int16)
    return out


class WavSource:
    """A 16-bit PCM WAV file, any rate and channel count."""

    def __init__(self, path: Path, chunk_s: float = 1.0) -> None:
        self.name, self._chunk_s = str(path), chunk_s
        try:
            self._wav = wave.open(str(path), "rb")  # noqa: SIM115 - closed by close()
        except (OSError, wave.Error, EOFError) as exc:
            raise SourceError(f"{path}: cannot read as WAV ({exc})") from None
        if self._wav.getsampwidth() != 2:
            self._wav.close()
            raise SourceError(f"{path}: only 16-bit PCM WAV is supported")

    def __iter__(self) -> Iterator[AudioChunk]:
        rate, channels = self._wav.getframerate(), self._wav.getnchannels()
        per_chunk, ts = max(1, round(rate * self._chunk_s)), 0.0
        while raw := self._wav.readframes(per_chunk):
            data = np.frombuffer(raw, dtype="<i2")
            yield AudioChunk(to_mono_16k(data, channels, rate), ts)
            ts += data.size / channels / rate

    def close(self) -> None:
        self._wav.close()


class FfmpegSource:
    """The audio track of a video or any file FFmpeg reads, decoded to a pipe."""

    def __init__(self, path: Path, chunk_s: float = 1.0) -> None:
        self.name, self._chunk_s = str(path), chunk_s
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise SourceError(f"{path}: reading audio from this file needs ffmpeg on the PATH")
        if not path.is_file():
            raise SourceError(f"{path}: no such file")
        command = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1"]
        command += ["-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1"]
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def __iter__(self) -> Iterator[AudioChunk]:
        assert self._proc.stdout is not None
        size, ts = 2 * round(SAMPLE_RATE * self._chunk_s), 0.0
        while raw := self._proc.stdout.read(size):
            samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)
            yield AudioChunk(samples, ts)
            ts += samples.size / SAMPLE_RATE
        if self._proc.wait() != 0 and ts == 0.0:
            raise SourceError(f"{self.name}: no audio track could be decoded")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                pipe.close()


class MicSource:
    """A microphone through ``sounddevice`` (extra ``deskwatch[audio]``)."""

    def __init__(self, device: int | None = None, chunk_s: float = 1.0) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise SourceError(
                f"microphone needs the audio extra (pip install 'deskwatch[audio]'): {exc}"
            ) from None
        self.name, self._per_chunk = f"mic:{device or 0}", round(SAMPLE_RATE * chunk_s)
        try:
            self._stream = sounddevice.InputStream(
                samplerate=SAMPLE_RATE, channels=1, dtype="int16", device=device
            )
            self._stream.start()
        except Exception as exc:  # PortAudio raises its own error types
            raise SourceError(f"{self.name}: cannot open the microphone ({exc})") from None

    def __iter__(self) -> Iterator[AudioChunk]:
        ts = 0.0
        while True:
            data, _overflowed = self._stream.read(self._per_chunk)
            samples = np.asarray(data, dtype=np.int16).reshape(-1)
            yield AudioChunk(samples, ts)
            ts += samples.size / SAMPLE_RATE

    def close(self) -> None:
        self._stream.close()


def is_microphone(spec: str) -> bool:
    """``mic`` or ``mic:N``: a live microphone, not a file."""
    return spec == "mic" or spec.startswith("mic:")


def open_audio(spec: str, chunk_s: float = 1.0) -> AudioSource:
    """``mic`` / ``mic:N``, a ``.wav`` file, or any file with an audio track (via ffmpeg)."""
    if is_microphone(spec):
        device = int(spec[4:]) if spec[4:].isdigit() else None
        return MicSource(device, chunk_s)
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"{spec}: no such file")
    if path.suffix.lower() == ".wav":
        return WavSource(path, chunk_s)
    return FfmpegSource(path, chunk_s)
