"""The team policy: fetched from the server, validated, cached; the last good one is kept.

The worker's privacy settings come with it and are enforced here, fail closed: until they
have been fetched once (at enrolment or later), every category is off and nothing runs.
A missing, old (pre-privacy) or unreadable cache, and a server reply without settings,
all mean "not fetched".
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from deskwatch.config import Policy, load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.files import write_private
from deskwatch.privacy.restrict import restrict
from deskwatch.privacy.worker import WorkerPrivacy
from deskwatch.transport.client import DeviceClient, FetchedPolicy, TransportError, Versions

log = logging.getLogger(__name__)
CACHE = "policy.json"
WAITING = "waiting for your privacy settings from the server: nothing is monitored until then"


@dataclass(frozen=True)
class Current:
    version: int  # 0: the built-in default, never fetched
    policy: Policy  # already restricted to the categories that are on for this worker
    note: str
    privacy: WorkerPrivacy = field(default_factory=WorkerPrivacy.unknown)
    known: bool = False  # the worker's settings were fetched: until then everything is off
    toml: str = ""  # the policy text in force, restricted again when the settings change
    offered: int = 0  # the last version the server offered, in force or refused as invalid


class PolicyKeeper:
    """Holds the policy in force; ``refresh()`` swaps it only for a valid newer one.

    The worker's privacy settings come with it: categories switched off by the team or
    objected to by the worker have their rules and detectors disabled here, so the
    pipeline never constructs them. A policy the agent cannot load never holds back a
    change of privacy settings: the last good policy is restricted to the new settings.
    """

    def __init__(
        self, client: DeviceClient, directory: Path, rate: float | None = None, audio: bool = False
    ) -> None:
        """``audio``: this PC has room audio set up (else the rules that read it stay off)."""
        self.client, self.cache, self.rate, self.audio = client, directory / CACHE, rate, audio
        self._lock = threading.Lock()
        self.changed = threading.Event()
        self.current = self._cached()

    def _apply(self, version: int, toml: str, note: str, privacy: WorkerPrivacy | None) -> Current:
        settings = WorkerPrivacy.unknown() if privacy is None else privacy
        policy = restrict(load_policy_text(toml), settings.off(), audio=self.audio)
        if self.rate is not None:
            policy.analysis.fps = self.rate
        return Current(version, policy, note, settings, privacy is not None, toml, version)

    def _cached(self) -> Current:
        try:
            data = json.loads(self.cache.read_text())
            raw = data.get("privacy")  # absent in a cache from before privacy settings
            privacy = None if raw is None else WorkerPrivacy.model_validate(raw)
            return self._apply(int(data["version"]), str(data["toml"]), "cached copy", privacy)
        except FileNotFoundError:
            return self._apply(0, "", "built-in default", None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, PolicyError) as exc:
            log.warning("policy cache %s unreadable (%s): all off until fetched", self.cache, exc)
            return self._apply(0, "", "built-in default", None)

    def is_current(self, versions: Versions) -> bool:
        """True when a heartbeat's versions match what is in force (never before the
        worker's settings have been fetched)."""
        cur = self.current
        return cur.known and (versions.policy_version, versions.privacy_rev) == (
            cur.offered,
            cur.privacy.rev,
        )

    def refresh(self) -> Current:
        """Fetch; an unreachable server or an invalid policy keeps the last good one."""
        try:
            got = self.client.policy()
        except TransportError as exc:
            return self._keep(f"server unreachable ({exc})")
        cur = self.current
        if (got.version, got.privacy, "from server") == (cur.version, cur.privacy, cur.note):
            return cur
        try:
            fresh = self._apply(got.version, got.toml, "from server", got.privacy)
        except PolicyError as exc:
            fresh = self._refused(got, f"server's policy v{got.version} is invalid ({exc})")
        if not fresh.known:
            fresh = replace(fresh, note=f"{fresh.note}; {WAITING}")
        return self._swap(fresh)

    def _refused(self, got: FetchedPolicy, why: str) -> Current:
        """The last good policy, restricted to the settings that came with the refused one."""
        cur = self.current
        kept = "v" + str(cur.version) if cur.version else "the default"
        log.warning("policy: %s; keeping %s", why, kept)
        kept_policy = self._apply(cur.version, cur.toml, f"{why}; keeping {kept}", got.privacy)
        return replace(kept_policy, offered=got.version)

    def _swap(self, fresh: Current) -> Current:
        with self._lock:
            cur = self.current
            changed = (fresh.policy, fresh.privacy, fresh.known) != (
                cur.policy,
                cur.privacy,
                cur.known,
            )
            self.current = fresh
        if fresh.known:
            self._save(fresh)
        if changed:
            log.info("policy v%d in force; categories off: %s", fresh.version, fresh.privacy.off())
            self.changed.set()
        return fresh

    def _save(self, fresh: Current) -> None:
        """Cache what is in force; a cache that cannot be written only costs a fetch."""
        cache = {
            "version": fresh.version,
            "toml": fresh.toml,
            "privacy": fresh.privacy.model_dump(),
        }
        try:
            write_private(self.cache, json.dumps(cache))
        except OSError as exc:
            log.warning("policy cache %s not written: %s", self.cache, exc)

    def _keep(self, why: str) -> Current:
        with self._lock:
            cur = self.current
            kept = "v" + str(cur.version) if cur.version else "the default"
            note = f"{why}; keeping {kept}" + ("" if cur.known else f"; {WAITING}")
            self.current = replace(cur, note=note)
        log.warning("policy: %s", note)
        return self.current
