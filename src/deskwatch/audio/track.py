"""Pairs analysed audio stretches with video frames by source time."""

from __future__ import annotations

from collections.abc import Iterator

from deskwatch.audio.analysis import AudioAnalyser
from deskwatch.audio.capture import AudioSource
from deskwatch.perception.observation import AudioObservation


class AudioTrack:
    """Pulls and analyses audio lazily; ``at(ts)`` is the stretch that covers ``ts``.

    Only the latest stretch's numbers are kept; the samples are dropped once analysed.
    """

    def __init__(self, source: AudioSource, analyser: AudioAnalyser | None = None) -> None:
        self.source = source
        self._analyser = analyser or AudioAnalyser()
        self._chunks = iter(source)
        self._current: AudioObservation | None = None
        self._ended = False

    def at(self, ts: float) -> AudioObservation | None:
        """The stretch containing ``ts`` (times must not go back), or None past the end."""
        cur = self._current
        while not self._ended and (cur is None or cur.ts + cur.duration_s <= ts):
            cur = self._next()
        if cur is None or not cur.ts <= ts < cur.ts + cur.duration_s:
            return None
        return cur

    def _next(self) -> AudioObservation | None:
        chunk = next(self._chunks, None)
        if chunk is None:
            self._ended = True
            return self._current
        self._current = self._analyser.analyse(chunk.samples, chunk.ts)
        return self._current

    def __iter__(self) -> Iterator[AudioObservation]:
        """Every stretch in order (for tests and benchmarks)."""
        for chunk in self._chunks:
            yield self._analyser.analyse(chunk.samples, chunk.ts)

    def close(self) -> None:
        self.source.close()
