"""The team policy: fetched from the server, validated, cached; the last good one is kept."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from deskwatch.agent.config import write_private
from deskwatch.config import Policy, load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.privacy.categories import restrict
from deskwatch.privacy.worker import WorkerPrivacy
from deskwatch.transport.client import DeviceClient, TransportError, Versions

log = logging.getLogger(__name__)
CACHE = "policy.json"


@dataclass(frozen=True)
class Current:
    version: int  # 0: the built-in default, never fetched
    policy: Policy  # already restricted to the categories that are on for this worker
    note: str
    privacy: WorkerPrivacy = field(default_factory=WorkerPrivacy.defaults)


class PolicyKeeper:
    """Holds the policy in force; ``refresh()`` swaps it only for a valid newer one.

    The worker's privacy settings come with it: categories switched off by the team or
    objected to by the worker have their rules and detectors disabled here, so the
    pipeline never constructs them.
    """

    def __init__(self, client: DeviceClient, directory: Path, rate: float | None = None) -> None:
        self.client, self.cache, self.rate = client, directory / CACHE, rate
        self._lock = threading.Lock()
        self.changed = threading.Event()
        self.current = self._cached()

    def _apply(
        self, version: int, toml: str, note: str, privacy: WorkerPrivacy | None = None
    ) -> Current:
        privacy = privacy or WorkerPrivacy.defaults()
        policy = restrict(load_policy_text(toml), privacy.off())
        if self.rate is not None:
            policy.analysis.fps = self.rate
        return Current(version, policy, note, privacy)

    def _cached(self) -> Current:
        try:
            data = json.loads(self.cache.read_text())
            privacy = WorkerPrivacy.model_validate(data["privacy"]) if "privacy" in data else None
            return self._apply(int(data["version"]), str(data["toml"]), "cached copy", privacy)
        except (OSError, ValueError, KeyError, PolicyError):
            return self._apply(0, "", "built-in default")

    def is_current(self, versions: Versions) -> bool:
        """True when a heartbeat's versions match what is in force."""
        cur = self.current
        return (versions.policy_version, versions.privacy_rev) == (cur.version, cur.privacy.rev)

    def refresh(self) -> Current:
        """Fetch; an unreachable server or an invalid policy keeps the last good one."""
        try:
            got = self.client.policy()
        except TransportError as exc:
            return self._keep(f"server unreachable ({exc})")
        privacy = got.privacy or WorkerPrivacy.defaults()
        cur = self.current
        if (got.version, privacy, "from server") == (cur.version, cur.privacy, cur.note):
            return cur
        try:
            fresh = self._apply(got.version, got.toml, "from server", privacy)
        except PolicyError as exc:
            return self._keep(f"server's policy v{got.version} is invalid ({exc})")
        cache = {"version": got.version, "toml": got.toml, "privacy": privacy.model_dump()}
        write_private(self.cache, json.dumps(cache))
        with self._lock:
            changed = (fresh.version, fresh.privacy) != (cur.version, cur.privacy)
            self.current = fresh
        if changed:
            log.info("policy v%d in force; categories off: %s", got.version, privacy.off())
            self.changed.set()
        return fresh

    def _keep(self, why: str) -> Current:
        with self._lock:
            cur = self.current
            note = f"{why}; keeping {'v' + str(cur.version) if cur.version else 'the default'}"
            self.current = Current(cur.version, cur.policy, note, cur.privacy)
        log.warning("policy: %s", note)
        return self.current
