"""A background thread that repeats one piece of work at a fixed interval."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``work`` every ``every_s`` seconds until ``close()``, the first time
    ``first_after_s`` after ``start`` (default: one interval); a failure is logged and tried
    again next interval. ``every_s`` 0 or less: never started."""

    def __init__(
        self,
        name: str,
        every_s: float,
        work: Callable[[], object],
        *,
        first_after_s: float | None = None,
    ) -> None:
        self.name, self.every_s, self._work = name, every_s, work
        self.first_after_s = every_s if first_after_s is None else min(first_after_s, every_s)
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Periodic:
        if self.every_s > 0 and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        return self

    def close(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _loop(self) -> None:
        wait = self.first_after_s
        while not self._stop.wait(wait):
            wait = self.every_s
            try:
                self._work()
            except Exception:  # the server keeps serving; the next run tries again
                log.exception("%s failed; retrying in %.0f s", self.name, self.every_s)
                continue
            self.runs += 1
