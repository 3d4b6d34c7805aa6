"""A change counter the live board waits on (heartbeats and events bump it)."""

from __future__ import annotations

import threading


class Changes:
    """Thread-safe: request handlers bump it, board streams wait for a new value."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.value = 0

    def notify(self) -> None:
        with self._cond:
            self.value += 1
            self._cond.notify_all()

    def wait_past(self, seen: int, timeout_s: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.value != seen, timeout=timeout_s)
            return self.value
