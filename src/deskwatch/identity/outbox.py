"""The identity events still to send, stamped like the rules' events: ``origin`` (when the
camera opened) plus the frame's source seconds. Numbers only: never a descriptor, an image
or a password."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from deskwatch.events.event import Event
from deskwatch.identity.check import IdentityResult
from deskwatch.identity.words import NOT_ENROLLED

log = logging.getLogger(__name__)


@dataclass
class Outbox:
    """Pending events, the last one's evidence (for the page) and the frame time they use."""

    ts: float = 0.0  # the last frame's source seconds
    origin: datetime | None = None  # wall-clock time of source second 0
    last: dict[str, float] = field(default_factory=dict)
    pending: list[Event] = field(default_factory=list)

    def report(self, result: IdentityResult, extra: dict[str, float] | None = None) -> None:
        """A check's or a prompt's result (``extra``: more evidence numbers)."""
        event = result.to_event()
        if extra:
            event = event.model_copy(update={"evidence": {**event.evidence, **extra}})
        log.info("identity: %s %s", event.type, event.evidence)
        self._add(event)

    def not_enrolled(self) -> None:
        """The worker has no template (and did not choose passwords)."""
        event = Event(
            type="identity_unverified",
            start_s=self.ts,
            end_s=self.ts,
            peak_confidence=1.0,
            evidence={NOT_ENROLLED: 1.0},
        )
        self._add(event)

    def take(self) -> list[Event]:
        pending, self.pending = self.pending, []
        return pending

    def _add(self, event: Event) -> None:
        self.last = dict(event.evidence)
        self.pending.append(self._stamped(event))

    def _stamped(self, event: Event) -> Event:
        """Wall-clock times: the session's origin + source seconds (before any frame has
        come there is no source time: then it is now)."""
        end = event.end_s if event.end_s is not None else event.start_s
        origin = self.origin or datetime.now(UTC) - timedelta(seconds=end)
        return event.model_copy(
            update={
                "started_at": origin + timedelta(seconds=event.start_s),
                "ended_at": origin + timedelta(seconds=end),
            }
        )
