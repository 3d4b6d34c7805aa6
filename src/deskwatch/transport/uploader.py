"""Drains the outbox into the server: batches, exponential backoff with full jitter, and
deletion of exactly what the server acknowledged. Wall-clock times are moved into the
server's time (``ServerClock``) as they are sent.

A batch the server refuses (4xx) never blocks the queue: the events the reply names are
moved to the dead table with their reason; a refusal that names none is bisected (the next
batches are halves) until the one event it is about is alone, and that one is moved aside.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from deskwatch.agent.outbox import Outbox, Pending
from deskwatch.transport.client import (
    AuthError,
    DeviceClient,
    RefusedError,
    ServerError,
    UnreachableError,
)
from deskwatch.transport.clock import restamped, shifted

log = logging.getLogger(__name__)

MAX_BATCH = 500
RETRY_LATER = frozenset({408, 409, 425, 429})  # refusals that say "not now", not "never"
_INDEX = re.compile(r"^events\.(\d+)")


@dataclass(frozen=True)
class Backoff:
    """Full jitter: attempt n waits uniform(0, min(cap, base * 2**n)) seconds."""

    base_s: float = 1.0
    cap_s: float = 60.0

    def ceiling(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * 2.0 ** min(attempt, 32))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        return float((rng or random).uniform(0.0, self.ceiling(attempt)))


@dataclass
class UploadStats:
    sent: int = 0
    batches: int = 0
    failures: int = 0
    last_error: str | None = None
    blocked: str | None = None  # set when the device is unknown or revoked
    replies: list[tuple[int, int, int]] = field(default_factory=list)


class Uploader:
    """``step()`` makes one attempt and says how long to wait; ``run()`` loops until stopped."""

    def __init__(
        self,
        outbox: Outbox,
        client: DeviceClient,
        *,
        batch_size: int = MAX_BATCH,
        backoff: Backoff | None = None,
        idle_s: float = 1.0,
    ) -> None:
        self.outbox, self.client = outbox, client
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.backoff = backoff or Backoff()
        self.idle_s = idle_s
        self.stats = UploadStats()
        self.wake = threading.Event()
        self._attempt = 0
        self._split: int | None = None  # bisecting a refused batch: the next batch's size

    def step(self) -> float:
        """Send one batch; returns seconds to wait before the next step (0: more to send)."""
        batch = self.outbox.batch(min(self.batch_size, self._split or MAX_BATCH))
        if not batch:
            return self.idle_s
        correction = self.client.clock.correction()
        try:
            reply = self.client.send_events([shifted(p.body, correction) for p in batch])
        except (UnreachableError, ServerError) as exc:
            return self._failed(str(exc))
        except AuthError as exc:
            self.stats.blocked = str(exc)
            return self._failed(str(exc))
        except RefusedError as exc:
            if _about_time(exc.detail) and self._clock_fixed(batch, correction):
                return 0.0  # refused for a clock that is now corrected: resend
            return self._refused(batch, exc)
        self.outbox.ack(batch)  # while bisecting, the refused event is still ahead: keep the size
        self.stats.sent += len(batch)
        self.stats.batches += 1
        self.stats.replies.append((reply.new, reply.duplicates, reply.updated))
        del self.stats.replies[:-20]
        self._attempt, self.stats.last_error, self.stats.blocked = 0, None, None
        return 0.0

    def _clock_fixed(self, batch: list[Pending], correction: timedelta) -> bool:
        """After a refusal for wall-clock times: True if the reply has just corrected the
        clock, or if events stamped while this PC's clock was fast (and set right since)
        were moved back to now; the batch is then sent again instead of buried."""
        if self.client.clock.correction() != correction:
            return True
        now = self.client.clock.local()
        fixed = [(p, b) for p in batch if (b := restamped(p.body, now)) is not None]
        for item, body in fixed:
            self.outbox.restamp(item, body)
        if fixed:
            log.warning("%d event(s) stamped ahead of this PC's clock moved back", len(fixed))
        return bool(fixed)

    def _failed(self, error: str) -> float:
        self.stats.failures += 1
        self.stats.last_error = error
        delay = self.backoff.delay(self._attempt)
        self._attempt += 1
        log.warning("upload failed (%s); retrying in %.1f s", error, delay)
        return delay

    def _refused(self, batch: list[Pending], exc: RefusedError) -> float:
        if exc.status == 413 and self.batch_size > 1:
            self.batch_size = max(1, self.batch_size // 2)
            return 0.0
        if exc.status in RETRY_LATER:
            return self._failed(str(exc))
        bad = _bad_indexes(exc.detail, len(batch))
        if not bad and len(batch) > 1:  # which event? send halves until it is alone
            self._split = len(batch) // 2
            return 0.0
        for index, reason in sorted(bad.items()) or [(0, str(exc))]:
            self.outbox.bury([batch[index]], reason)
        self._split = None
        return 0.0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                wait = self.step()
            except Exception as exc:  # a broken outbox must not kill delivery silently
                log.exception("uploader step failed")
                wait = self._failed(f"internal: {exc}")
            if wait > 0:
                self.wake.wait(wait)
                self.wake.clear()


def _about_time(detail: object) -> bool:
    """Whether a refusal is about wall-clock times only (a wrong clock, not a bad event)."""
    if not isinstance(detail, list):
        return False
    fields = [str(d.get("field", "")) for d in detail if isinstance(d, dict)]
    return bool(fields) and all(f.endswith(("started_at", "ended_at")) for f in fields)


def _bad_indexes(detail: object, size: int) -> dict[int, str]:
    """Batch positions named by the server's 422 ``detail[].field`` paths, each with the
    reason ("events.3.evidence.x: Input should be a finite number")."""
    found: dict[int, str] = {}
    if isinstance(detail, list):
        for item in detail:
            if not isinstance(item, dict):
                continue
            where = str(item.get("field", ""))
            match = _INDEX.match(where)
            if match and int(match.group(1)) < size:
                reason = f"{where}: {item.get('msg', 'refused')}"
                index = int(match.group(1))
                found[index] = f"{found[index]}; {reason}" if index in found else reason
    return found
