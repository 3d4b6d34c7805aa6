"""Device tokens already checked, trusted for a short time so heartbeats skip the lookup.

A revocation takes effect at once in every worker process: the revoking request drops the
device here and signals its agent to the others, which drop that agent's devices
(``forget_agent``, via the same NOTIFY as status changes). Every worker also reloads all
valid tokens in one query every ``Settings.cache_refresh_s`` (``refresh``), so a steady
fleet never waits for a lookup, and a lost signal leaves a revoked token trusted at most
until the next reload (``ttl_s`` bounds it when reloads are off).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from deskwatch.server.reload import ForgetLog


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """The device a valid token belongs to."""

    id: str
    agent_id: int


class TokenCache:
    """Token hash → device, each entry valid for ``ttl_s`` of the app's clock."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[datetime, DeviceIdentity]] = {}
        self._forgets: ForgetLog[tuple[str, str | int]] = ForgetLog(self._lock)
        self.forgotten = 0  # grows with every forget: a lookup that raced one is not kept

    def get(self, digest: str, *, now: datetime) -> DeviceIdentity | None:
        hit = self._entries.get(digest)
        if hit is None or not (hit[0] <= now < hit[0] + self._ttl):
            return None
        return hit[1]

    def put(self, digest: str, device: DeviceIdentity, *, now: datetime, looked_up_at: int) -> None:
        """Keep a lookup's answer, unless a device was forgotten since it began
        (``looked_up_at``: ``forgotten`` then): it may be the revocation it missed."""
        with self._lock:
            if self.forgotten == looked_up_at:
                self._entries[digest] = (now, device)

    def refresh(
        self, load: Callable[[], Iterable[tuple[str, DeviceIdentity]]], *, now: datetime
    ) -> int:
        """Replace the entries with every valid token that ``load`` reads; the count.

        Entries put while the load ran are kept, and devices forgotten meanwhile stay out.
        """

        def apply(rows: list[tuple[str, DeviceIdentity]], gone: set[tuple[str, str | int]]) -> int:
            newer = {k: v for k, v in self._entries.items() if v[0] > now}
            fresh = {
                digest: (now, dev)
                for digest, dev in rows
                if ("device", dev.id) not in gone and ("agent", dev.agent_id) not in gone
            }
            self._entries = fresh | newer
            return len(fresh)

        return self._forgets.reload(load, apply)

    def forget(self, device_id: str) -> None:
        """Drop a device (revoked here): its next request is checked in the database."""
        with self._lock:
            self.forgotten += 1
            self._drop(lambda d: d.id == device_id)
            self._forgets.note(("device", device_id))

    def forget_agent(self, agent_id: int) -> None:
        """Drop every device of an agent (a revocation, or any change, signalled for it)."""
        with self._lock:
            self.forgotten += 1
            self._drop(lambda d: d.agent_id == agent_id)
            self._forgets.note(("agent", agent_id))

    def _drop(self, match: Callable[[DeviceIdentity], bool]) -> None:
        stale = [k for k, (_, d) in self._entries.items() if match(d)]
        for digest in stale:
            del self._entries[digest]
