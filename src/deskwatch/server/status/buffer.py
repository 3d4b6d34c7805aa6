"""Write-behind for heartbeats that change nothing (the steady state of 10,000 devices).

Each worker process remembers, per agent, the status it last stored or confirmed and when
it last heard from the agent. A heartbeat repeating that status is only noted in memory;
a background thread stores all noted heartbeats every ``flush_s`` seconds in one batch
(``service.record_seen``). Everything else (a new status, an agent this worker does not
know) takes the full transactional path at once; an agent coming back online after a
silence is found by the flush, which stores the offline gap with the right times (the
board shows it at most ``flush_s`` late).

Correctness across worker processes: another worker may have stored a different status
since. The flush re-reads the stored statuses and sends each heartbeat that disagrees
through the full path with its own time, so it is recorded (at most ``flush_s`` late, with
the right time); on PostgreSQL a committed change also makes every worker forget its
entry for that agent (``forget``, via NOTIFY), so such a heartbeat normally takes the full
path at once. ``last_seen_at`` never moves backwards. A crash loses at most ``flush_s``
of ``last_seen_at`` updates; every status change a worker can see is committed before
its reply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.devices.service import mark_seen
from deskwatch.server.devices.tokens import DeviceIdentity
from deskwatch.server.ops.metrics import BUFFER_FLUSH_FAILURES, BUFFER_PENDING
from deskwatch.server.periodic import Periodic
from deskwatch.server.status import service
from deskwatch.server.status.schemas import Heartbeat

# Per device, minute resolution of ``devices.last_seen_at`` is enough: fewer writes.
DEVICE_SEEN_RESOLUTION = timedelta(minutes=1)

Publish = Callable[[Session, int], None]


class HeartbeatBuffer:
    """Heartbeats of one worker process; ``flush_s`` 0 writes every one through."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        offline_after_s: float,
        flush_s: float,
        publish: Publish,
    ) -> None:
        self._sessions, self._publish, self.flush_s = sessions, publish, flush_s
        self._offline = timedelta(seconds=offline_after_s)
        self._lock, self._flushing = threading.Lock(), threading.Lock()
        self._known: dict[int, tuple[str, datetime]] = {}
        self._pending: dict[int, service.Seen] = {}
        self._devices: dict[str, datetime] = {}
        self._devices_noted: dict[str, datetime] = {}
        self._flusher = Periodic("heartbeat-flush", flush_s, self.flush)

    def note(self, *, device: DeviceIdentity, beat: Heartbeat, now: datetime) -> bool:
        """In memory only: True when the heartbeat repeats what this worker knows, so the
        next flush stores it; False when it needs ``store``."""
        if self.flush_s <= 0 or not self._note(device.agent_id, beat, now):
            return False
        self._device_seen(None, device.id, now)
        return True

    def store(
        self, session: Session, *, device: DeviceIdentity, beat: Heartbeat, now: datetime
    ) -> bool:
        """The full path in ``session``'s transaction; True when the status changed."""
        self._device_seen(session, device.id, now)
        return self._store(session, device.agent_id, service.Seen(beat, now))

    def warm(self, known: Iterable[tuple[int, str, datetime]]) -> None:
        """Learn stored (agent, status, last seen) rows this worker has no entry for, so
        a restarted server notes its fleet's heartbeats from the first one."""
        for agent_id, status, last_seen in known:
            self._known.setdefault(agent_id, (status, last_seen))

    def forget(self, agent_id: int) -> None:
        """Another worker stored a change for this agent: its next heartbeat goes through."""
        self._known.pop(agent_id, None)

    def flush(self) -> None:
        """Store the noted heartbeats now (one batch), then any that need the full path."""
        with self._flushing:
            with self._lock:
                pending, self._pending = self._pending, {}
                devices, self._devices = self._devices, {}
            BUFFER_PENDING.set(len(pending))
            if not pending and not devices:
                return
            try:
                with self._sessions.begin() as session:
                    mark_seen(session, seen=devices)
                    others = service.record_seen(
                        session, seen=pending, offline_after_s=self._offline.total_seconds()
                    )
            except Exception:
                BUFFER_FLUSH_FAILURES.inc()
                self._restore(pending, devices)
                raise
            for agent_id in others:
                self._replay(agent_id, pending[agent_id])

    def start(self) -> None:
        self._flusher.start()

    def close(self) -> None:
        """Stop the background flushes and store what is left (server shutdown)."""
        self._flusher.close()
        self.flush()

    def _note(self, agent_id: int, beat: Heartbeat, now: datetime) -> bool:
        if self.flush_s <= 0:
            return False
        known = self._known.get(agent_id)
        if known is None or known[0] != beat.status:
            return False
        if now < known[1]:
            return False  # an out-of-order time: the full path decides
        # However long since this worker last heard from the agent (other workers may have
        # had its heartbeats meanwhile), the flush compares with the stored time and sends
        # an agent that went offline through the full path, which records the gap.
        with self._lock:
            self._known[agent_id] = (beat.status, now)
            self._pending[agent_id] = service.Seen(beat, now)
        return True

    def _device_seen(self, session: Session | None, device_id: str, now: datetime) -> None:
        noted = self._devices_noted.get(device_id)
        if noted is not None and timedelta(0) <= now - noted <= DEVICE_SEEN_RESOLUTION:
            return
        self._devices_noted[device_id] = now
        if self.flush_s <= 0 and session is not None:
            mark_seen(session, seen={device_id: now})
            return
        with self._lock:
            self._devices[device_id] = now

    def _store(self, session: Session, agent_id: int, seen: service.Seen) -> bool:
        """The full path: in the caller's transaction; remembered once it commits."""
        offline_after_s = self._offline.total_seconds()
        beat, now = seen.beat, seen.at
        changed = service.heartbeat(
            session, agent_id=agent_id, beat=beat, now=now, offline_after_s=offline_after_s
        )
        if changed:
            self._publish(session, agent_id)

        def learn(_session: Session) -> None:
            known = self._known.get(agent_id)
            if known is None or known[1] <= now:
                self._known[agent_id] = (beat.status, now)

        event.listen(session, "after_commit", learn, once=True)
        return changed

    def _replay(self, agent_id: int, seen: service.Seen) -> None:
        self.forget(agent_id)
        with self._sessions.begin() as session:
            self._store(session, agent_id, seen)

    def _restore(self, pending: dict[int, service.Seen], devices: dict[str, datetime]) -> None:
        with self._lock:
            for agent_id, seen in pending.items():
                self._pending.setdefault(agent_id, seen)
            for device_id, at in devices.items():
                self._devices.setdefault(device_id, at)
