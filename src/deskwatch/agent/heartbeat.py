"""The 30 s heartbeat: status only (at desk, away, paused, camera problem), never pictures."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from deskwatch.agent.control import PauseState
from deskwatch.agent.policy import PolicyKeeper
from deskwatch.config import Policy
from deskwatch.transport.client import DeviceClient, TransportError
from deskwatch.transport.uploader import Backoff

if TYPE_CHECKING:
    from deskwatch.pipeline import Pipeline
    from deskwatch.transport.clock import ServerClock

log = logging.getLogger(__name__)

HEARTBEAT_S = 30.0
POLICY_REFRESH_S = 300.0
ERROR_BACKOFF = Backoff(base_s=1.0, cap_s=60.0)  # extra wait after a bug, not a network error


def heartbeat_body(
    pause: PauseState, status: str, pipeline: Pipeline | None, policy: Policy, clock: ServerClock
) -> dict[str, object]:
    """The device API's Heartbeat, nothing more: the status, how long a pause has lasted,
    which of the policy's detectors run now, and how far this PC's clock is off (the time
    sent is the server's, as this PC knows it)."""
    running = pipeline is not None and not pause.paused
    keys = {d.key for d in pipeline.detectors} if pipeline is not None else set()
    enabled = {c.type for c in policy.detectors.values() if c.enabled}
    paused_for = pause.paused_for_s()
    return {
        "status": "paused" if pause.paused else status,
        "sent_at": clock.now().isoformat(),
        "clock_offset_s": clock.fast_by_s(),
        "paused_for_s": None if paused_for is None else round(paused_for, 1),
        "detectors": {name: running and name in keys for name in sorted(enabled)},
    }


class Heartbeat:
    """Sends ``beat()`` every ``interval_s`` (or at once when woken); refreshes the policy
    when the server reports a new version, and every ``policy_refresh_s`` anyway."""

    def __init__(
        self,
        client: DeviceClient,
        beat: Callable[[], dict[str, object]],
        policy: PolicyKeeper,
        *,
        interval_s: float = HEARTBEAT_S,
        policy_refresh_s: float = POLICY_REFRESH_S,
    ) -> None:
        self.client, self.beat, self.policy = client, beat, policy
        self.interval_s, self.policy_refresh_s = interval_s, policy_refresh_s
        self.wake = threading.Event()
        self.last_error: str | None = None
        self.sent = 0

    def send_once(self) -> None:
        body = self.beat()
        try:
            versions = self.client.heartbeat(body)
        except TransportError as exc:
            self.last_error = str(exc)
            log.info("heartbeat not delivered: %s", exc)
            return
        self.sent, self.last_error = self.sent + 1, None
        if not self.policy.is_current(versions):
            self.policy.refresh()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: a failure is logged and retried after a growing pause, so the
        thread never dies (no heartbeat would mean no privacy change reaches the agent)."""
        since_policy, failures = 0.0, 0
        while not stop.is_set():
            started = datetime.now(UTC)
            failures = self._guarded(self.send_once, failures)
            backoff = ERROR_BACKOFF.ceiling(failures - 1) if failures else 0.0
            self.wake.wait(self.interval_s + backoff)
            self.wake.clear()
            since_policy += (datetime.now(UTC) - started).total_seconds()
            if since_policy >= self.policy_refresh_s and not stop.is_set():
                failures = self._guarded(self.policy.refresh, failures)
                since_policy = 0.0

    def _guarded(self, step: Callable[[], object], failures: int) -> int:
        """Run ``step``; the number of failures in a row after it."""
        try:
            step()
        except Exception as exc:  # a bug here must not end heartbeats or privacy updates
            self.last_error = f"heartbeat failed: {exc!r}"
            log.exception("heartbeat step failed (%d in a row); carrying on", failures + 1)
            return failures + 1
        return 0
