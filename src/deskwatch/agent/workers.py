"""The threads beside the agent's frame loop (uploader, heartbeat, stills), started and
stopped together."""

from __future__ import annotations

import threading
from typing import Protocol

JOIN_TIMEOUT_S = 15.0


class Worker(Protocol):
    wake: threading.Event

    def run(self, stop: threading.Event) -> None: ...


class Workers:
    """Each worker's ``run(stop)`` in a daemon thread; ``stop_all`` wakes and joins them."""

    def __init__(self, stop: threading.Event, workers: dict[str, Worker]) -> None:
        self.stop, self.workers = stop, workers
        self._threads: list[threading.Thread] = []

    def start(self) -> Workers:
        self._threads = [
            threading.Thread(target=w.run, args=(self.stop,), name=name, daemon=True)
            for name, w in self.workers.items()
        ]
        for t in self._threads:
            t.start()
        return self

    def stop_all(self) -> None:
        self.stop.set()
        for w in self.workers.values():
            w.wake.set()
        for t in self._threads:
            t.join(timeout=JOIN_TIMEOUT_S)
