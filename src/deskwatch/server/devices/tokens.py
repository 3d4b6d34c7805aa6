"""Device tokens already checked, trusted for a short time so heartbeats skip the lookup.

A revocation takes effect at once in every worker process: the revoking request drops the
device here and signals its agent to the others, which drop that agent's devices
(``forget_agent``, via the same NOTIFY as status changes). ``ttl_s`` only bounds how long a
lost signal (a listener reconnecting) could leave a revoked token trusted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta


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

    def get(self, digest: str, *, now: datetime) -> DeviceIdentity | None:
        hit = self._entries.get(digest)
        if hit is None or not (hit[0] <= now < hit[0] + self._ttl):
            return None
        return hit[1]

    def put(self, digest: str, device: DeviceIdentity, *, now: datetime) -> None:
        with self._lock:
            self._entries[digest] = (now, device)

    def forget(self, device_id: str) -> None:
        """Drop a device (revoked here): its next request is checked in the database."""
        with self._lock:
            stale = [k for k, (_, d) in self._entries.items() if d.id == device_id]
            for digest in stale:
                del self._entries[digest]

    def forget_agent(self, agent_id: int) -> None:
        """Drop every device of an agent (a revocation, or any change, signalled for it)."""
        with self._lock:
            stale = [k for k, (_, d) in self._entries.items() if d.agent_id == agent_id]
            for digest in stale:
                del self._entries[digest]
