"""Decode ahead on a thread, so decoding and analysis of a file overlap on two cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


class Prefetched:
    """Wraps a source; a daemon thread keeps up to ``depth`` decoded frames ready.

    Frames stay in memory. Errors raised by the source are re-raised in order, after the
    frames decoded before them.
    """

    def __init__(self, source: FrameSource, depth: int = 4) -> None:
        self._source = source
        self.name = source.name
        self.duration_s = source.duration_s
        self._queue: queue.Queue[Frame | _End] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __iter__(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._fill, name="deskwatch-decode", daemon=True)
        self._thread.start()
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def _fill(self) -> None:
        end = _End()
        try:
            for frame in self._source:
                if not self._put(frame):
                    return
        except Exception as exc:  # handed to the consumer, who raises it
            end = _End(exc)
        self._put(end)

    def _put(self, item: Frame | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._source.close()
