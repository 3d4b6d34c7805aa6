"""The team policy: fetched from the server, validated, cached; the last good one is kept."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from deskwatch.agent.config import write_private
from deskwatch.config import Policy, load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.transport.client import DeviceClient, TransportError

log = logging.getLogger(__name__)
CACHE = "policy.json"


@dataclass(frozen=True)
class Current:
    version: int  # 0: the built-in default, never fetched
    policy: Policy
    note: str


class PolicyKeeper:
    """Holds the policy in force; ``refresh()`` swaps it only for a valid newer one."""

    def __init__(self, client: DeviceClient, directory: Path, rate: float | None = None) -> None:
        self.client, self.cache, self.rate = client, directory / CACHE, rate
        self._lock = threading.Lock()
        self.changed = threading.Event()
        self.current = self._cached()

    def _apply(self, version: int, toml: str, note: str) -> Current:
        policy = load_policy_text(toml)
        if self.rate is not None:
            policy.analysis.fps = self.rate
        return Current(version, policy, note)

    def _cached(self) -> Current:
        try:
            data = json.loads(self.cache.read_text())
            return self._apply(int(data["version"]), str(data["toml"]), "cached copy")
        except (OSError, ValueError, KeyError, PolicyError):
            return self._apply(0, "", "built-in default")

    def refresh(self) -> Current:
        """Fetch; an unreachable server or an invalid policy keeps the last good one."""
        try:
            version, toml = self.client.policy()
        except TransportError as exc:
            return self._keep(f"server unreachable ({exc})")
        if version == self.current.version and self.current.note == "from server":
            return self.current
        try:
            fresh = self._apply(version, toml, "from server")
        except PolicyError as exc:
            return self._keep(f"server's policy v{version} is invalid ({exc})")
        write_private(self.cache, json.dumps({"version": version, "toml": toml}))
        with self._lock:
            changed = fresh.version != self.current.version
            self.current = fresh
        if changed:
            log.info("policy v%d in force", version)
            self.changed.set()
        return fresh

    def _keep(self, why: str) -> Current:
        with self._lock:
            cur = self.current
            note = f"{why}; keeping {'v' + str(cur.version) if cur.version else 'the default'}"
            self.current = Current(cur.version, cur.policy, note)
        log.warning("policy: %s", note)
        return self.current
