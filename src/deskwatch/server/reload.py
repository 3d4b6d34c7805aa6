"""Bulk reloads of a cache that requests also forget from: what is forgotten while a reload
reads the database stays out of what the reload puts back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K")
R = TypeVar("R")


class ForgetLog(Generic[K]):
    """Collects the keys forgotten while a ``reload`` runs (callers hold ``lock``)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._open: set[K] | None = None

    def note(self, key: K) -> None:
        """A key forgotten (call with the lock held)."""
        if self._open is not None:
            self._open.add(key)

    def reload(
        self, load: Callable[[], Iterable[R]], apply: Callable[[list[R], set[K]], int]
    ) -> int:
        """Read with ``load`` (lock not held), then ``apply(rows, forgotten meanwhile)``
        under the lock in one go, so no forget falls between the two; ``apply``'s count."""
        with self._lock:
            self._open = forgotten = set[K]()
        try:
            rows = list(load())
        except BaseException:
            with self._lock:
                self._open = None
            raise
        with self._lock:
            self._open = None
            return apply(rows, forgotten)
