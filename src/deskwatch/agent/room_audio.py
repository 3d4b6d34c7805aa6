"""Room audio on the agent: sound level and voice activity, never the sound.

Opened only while a rule that reads room audio is on for the worker (the environment
category, switched on by their team and not objected to) and the agent is not paused.
Samples stay in this process's memory and are dropped once analysed; a microphone is read
on its own thread, so the frame loop never waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from deskwatch.audio import (
    AudioAnalyser,
    AudioObservation,
    AudioSource,
    AudioTrack,
    is_microphone,
    open_audio,
)

log = logging.getLogger(__name__)

# A microphone stretch older than this (seconds) no longer describes the room.
FRESH_S = 3.0


class RoomAudio(Protocol):
    def at(self, ts: float) -> AudioObservation | None: ...

    def close(self) -> None: ...


class LiveAudio:
    """A live source analysed on its own thread; ``at()`` is the newest fresh stretch."""

    def __init__(self, source: AudioSource, analyser: AudioAnalyser) -> None:
        self.source, self._analyser = source, analyser
        self._latest: tuple[float, AudioObservation] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="room-audio", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for chunk in self.source:
                if self._stop.is_set():
                    return
                self._latest = (time.monotonic(), self._analyser.analyse(chunk.samples, chunk.ts))
        except Exception as exc:  # the device went away: the rules simply get no audio
            if not self._stop.is_set():
                log.warning("room audio stopped: %s", exc)

    def at(self, ts: float) -> AudioObservation | None:
        """The newest stretch, if it is recent (``ts`` is the frame's; times differ)."""
        latest = self._latest
        if latest is None or time.monotonic() - latest[0] > FRESH_S:
            return None
        return latest[1]

    def close(self) -> None:
        """Stop the reader, then close the source: never while a read is under way
        (PortAudio does not allow it); a read returns within one stretch."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.source.close()


def open_room_audio(spec: str) -> RoomAudio:
    """``mic``/``mic:N`` (read live), or a file whose audio plays with the video by source
    time (tests and demos). SourceError when it cannot be opened."""
    analyser = AudioAnalyser()  # DeskwatchError without the audio extra
    source = open_audio(spec)
    if is_microphone(spec):
        return LiveAudio(source, analyser)
    return AudioTrack(source, analyser)
