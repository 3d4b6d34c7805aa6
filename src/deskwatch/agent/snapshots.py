"""Evidence stills on the agent: off unless the team turned them on for a category.

When an event of such a category first opens, one still of that frame is taken (at most
one per event and one per ``min_interval_s``), redacted so only the worker stays sharp,
JPEG-encoded and sealed to the server's public key — all in memory, in a background thread,
so the frame loop only copies one picture. A still in which no face is found is not kept
(nobody could be kept sharp safely). The plain copy lives only until it is sealed (at most
``SEAL_WITHIN_S``), and at most ``MAX_WAITING`` stills wait at once. The sealed still is
uploaded once the server knows the event (retried with backoff), and the worker is told on
their local page. Nothing is written to disk; turning stills off, objecting or pausing drops
whatever was waiting unsealed and closes the redaction models.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from deskwatch.arrays import Image
from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.privacy.categories import SNAPSHOT_CATEGORIES, category_of
from deskwatch.privacy.sealing import public_key_from_b64, seal
from deskwatch.transport.client import DeviceClient, RefusedError, TransportError
from deskwatch.transport.uploader import Backoff

if TYPE_CHECKING:
    from deskwatch.privacy.redact import Redactor
    from deskwatch.privacy.worker import WorkerPrivacy

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 60.0
GIVE_UP_S = 3600.0  # a still the server has not taken within an hour is dropped
SEAL_WITHIN_S = 60.0  # a plain copy not sealed by then is dropped
MAX_WAITING = 10  # stills waiting at once (sealed or not); more are not taken
KEEP_DAYS = 7
SEEN_EVENTS = 1000


class Redact(Protocol):
    """A BGR picture to redacted JPEG bytes; ``close()`` frees its models."""

    def __call__(self, image: Image) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class Notice:
    """What the worker's page says about one still (words and numbers only)."""

    taken_at: datetime
    event_type: str
    status: str = "sealed, waiting to be sent"
    snapshot_id: str | None = None

    def words(self) -> str:
        at = self.taken_at.astimezone().strftime("%H:%M")
        return (
            f"A blurred still was taken at {at} for {self.event_type}; if the server keeps it "
            f"you can see it in My data there, and it expires after at most {KEEP_DAYS} days, "
            f"when the server deletes it ({self.status})."
        )


@dataclass(eq=False)  # compared by identity: one still is one object
class _Still:
    event_id: str
    taken_at: datetime
    notice: Notice
    image: Image | None  # the copied frame until it is redacted and sealed
    started: float
    sealed: bytes | None = None
    attempt: int = 0
    retry_at: float = 0.0


def snapshot_settings(privacy: WorkerPrivacy | None) -> tuple[frozenset[str], str | None]:
    """The categories stills are on for (enabled, not objected) and the server's key."""
    if privacy is None or not privacy.snapshot_key:
        return frozenset(), None
    on = {
        c.key
        for c in privacy.categories
        if c.snapshot and c.enabled and not c.objected and c.key in SNAPSHOT_CATEGORIES
    }
    return frozenset(on), privacy.snapshot_key


class MediapipeRedact:
    """The real redaction: face detection and selfie segmentation, then JPEG."""

    def __init__(self) -> None:
        from deskwatch.privacy.redact import Redactor

        self._redactor: Redactor = Redactor()

    def __call__(self, image: Image) -> bytes:
        from deskwatch.privacy.redact import encode_jpeg

        return encode_jpeg(self._redactor.redact(image).image)

    def close(self) -> None:
        self._redactor.close()


def mediapipe_redact() -> Redact:
    """The real redaction, built on first use (stills off: never constructed)."""
    return MediapipeRedact()


class SnapshotTaker:
    """``consider()`` in the frame loop; ``run()`` (or ``step()``) in its own thread."""

    def __init__(
        self,
        client: DeviceClient,
        *,
        categories: Iterable[str] = (),
        public_key: str | None = None,
        min_interval_s: float = MIN_INTERVAL_S,
        backoff: Backoff | None = None,
        redact: Callable[[], Redact] = mediapipe_redact,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client, self.min_interval_s, self.clock = client, min_interval_s, clock
        self.wall = wall
        self.backoff = backoff or Backoff(base_s=2.0, cap_s=60.0)
        self.notices: deque[Notice] = deque(maxlen=20)
        self.wake = threading.Event()
        self._make_redact = redact
        self._redact: Redact | None = None
        self._redact_lock = threading.Lock()  # held while the models are built, used, closed
        self._lock = threading.Lock()
        self._pending: list[_Still] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._last_taken = -float("inf")
        self.categories: frozenset[str] = frozenset()
        self.public_key: str | None = None
        self.configure(categories, public_key)

    def configure(self, categories: Iterable[str], public_key: str | None) -> None:
        """Apply the team's settings: a still of a category now off is dropped, and with
        stills off the redaction models are closed."""
        on = frozenset(categories) & SNAPSHOT_CATEGORIES if public_key else frozenset()
        with self._lock:
            self.categories, self.public_key = on, public_key
            gone = [s for s in self._pending if category_of(s.notice.event_type) not in on]
        for still in gone:
            self._drop(still, "not kept: stills were switched off for it before it was sent")
        if not on:
            self.close()

    def pause(self) -> None:
        """The worker paused: no plain copy is kept and the models are closed."""
        with self._lock:
            plain = [s for s in self._pending if s.sealed is None]
        for still in plain:
            self._drop(still, "not kept: you paused before it was sealed")
        self.close()

    def close(self) -> None:
        """Close the redaction models (built again only for the next still)."""
        with self._redact_lock:
            redact, self._redact = self._redact, None
            if redact is not None:
                redact.close()

    @property
    def enabled(self) -> bool:
        return bool(self.categories)

    def consider(self, frame: Frame, events: list[Event]) -> bool:
        """Take a still of ``frame`` if one of ``events`` newly opened in a stills category."""
        if not self.categories:
            return False
        for event in events:
            if self._wanted(event):
                return self._take(frame, event)
        return False

    def _wanted(self, event: Event) -> bool:
        key = str(event.id)
        if not event.is_open or key in self._seen or category_of(event.type) not in self.categories:
            return False
        self._seen[key] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return True

    def _take(self, frame: Frame, event: Event) -> bool:
        now = self.clock()
        if now - self._last_taken < self.min_interval_s:
            log.info("still for %s skipped: one was taken less than a minute ago", event.type)
            return False
        if self.waiting() >= MAX_WAITING:
            log.warning(
                "still for %s skipped: %d stills are still waiting", event.type, MAX_WAITING
            )
            return False
        self._last_taken = now
        notice = Notice(self.wall(), event.type, status="taken, being blurred and sealed")
        still = _Still(str(event.id), notice.taken_at, notice, frame.image.copy(), now)
        with self._lock:
            self._pending.append(still)
            self.notices.append(notice)
        self.wake.set()
        return True

    def step(self) -> float:
        """Seal or send one waiting still; returns seconds to wait (0: more to do).
        Sealing comes first: a plain copy is never kept waiting behind an upload."""
        with self._lock:
            now = self.clock()
            stale = [
                s for s in self._pending if s.sealed is None and now - s.started > SEAL_WITHIN_S
            ]
            due = [s for s in self._pending if s.retry_at <= now and s not in stale]
            key = self.public_key
        for still in stale:
            self._drop(still, "not kept: it could not be blurred and sealed in time")
        due.sort(key=lambda s: s.sealed is not None)
        if not due or key is None:
            return 1.0
        still = due[0]
        if still.sealed is None:
            self._seal(still, key)
            return 0.0
        return self._send(still)

    def _seal(self, still: _Still, key: str) -> None:
        with self._redact_lock:
            if not self._still_wanted(still):  # switched off, objected or paused meanwhile
                still.image = None
                return
            try:
                if self._redact is None:
                    self._redact = self._make_redact()
                assert still.image is not None
                jpeg = self._redact(still.image)
                sealed = seal(jpeg, public_key_from_b64(key), context=still.event_id.encode())
            except Exception as exc:  # a still that cannot be made is dropped, never retried
                log.warning("evidence still not made: %s", exc)
                self._drop(still, f"not kept: {exc}")
                return
            finally:
                still.image = None  # the plain picture is gone, sealed or not
        with self._lock:  # dropped meanwhile (switched off, paused): its notice says so
            if still not in self._pending:
                return
            still.sealed = sealed
            still.notice.status = "sealed, waiting to be sent"

    def _still_wanted(self, still: _Still) -> bool:
        """Still waiting, and its category still has stills on (checked again before
        sealing and right before sending)."""
        with self._lock:
            on = category_of(still.notice.event_type) in self.categories
            return on and still in self._pending

    def _send(self, still: _Still) -> float:
        assert still.sealed is not None
        if not self._still_wanted(still):
            self._drop(still, "not kept: stills were switched off for it before it was sent")
            return 0.0
        try:
            still.notice.snapshot_id = self.client.send_snapshot(
                still.event_id, still.taken_at, still.sealed
            )
        except RefusedError as exc:
            if exc.status != 404:  # 404: the server does not have the event yet
                self._drop(still, f"not kept: the server refused it ({exc.detail})")
                return 0.0
            return self._retry(still, str(exc))
        except TransportError as exc:
            return self._retry(still, str(exc))
        self._drop(still, "sent")
        return 0.0

    def _retry(self, still: _Still, why: str) -> float:
        if self.clock() - still.started > GIVE_UP_S:
            self._drop(still, f"not kept: not delivered within an hour ({why})")
            return 0.0
        delay = self.backoff.delay(still.attempt)
        still.attempt += 1
        still.retry_at = self.clock() + delay
        still.notice.status = "sealed, will retry sending"
        return min(delay, 1.0)

    def _drop(self, still: _Still, status: str) -> None:
        with self._lock:
            if still not in self._pending:
                return  # already dropped, with its reason
            self._pending.remove(still)
        still.notice.status = status
        still.image = still.sealed = None

    def waiting(self) -> int:
        with self._lock:
            return len(self._pending)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    wait = self.step()
                except Exception:  # a failing still must not stop the agent
                    log.exception("evidence still failed")
                    wait = 5.0
                if wait > 0:
                    self.wake.wait(wait)
                    self.wake.clear()
        finally:
            self.close()

    def page_state(self) -> dict[str, object]:
        """For the worker's page: whether stills are on, for what, and each one taken."""
        with self._lock:
            notices = list(self.notices)
        return {
            "on_for": sorted(self.categories),
            "taken": [
                {"words": n.words(), "status": n.status, "snapshot_id": n.snapshot_id}
                for n in notices
            ],
        }
