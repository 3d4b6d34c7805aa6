"""A change counter the live board's streams watch (heartbeats and events bump it)."""

from __future__ import annotations

import threading


class Changes:
    """Thread-safe counter: request handlers bump it, board streams poll it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def notify(self) -> None:
        with self._lock:
            self.value += 1
