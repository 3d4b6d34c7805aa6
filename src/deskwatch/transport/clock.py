"""The server's time as this PC knows it: every reply's ``Date`` header gives the offset
between the server's clock and this PC's, so events are stamped in the server's time even
when the PC's clock is wrong (a clock minutes fast would otherwise have every event refused
as "in the future")."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Below this the offset is the Date header's one-second resolution, not a wrong clock.
NOTICEABLE_S = 2.0
# A clock this far off is worth telling the worker and the board about.
PROBLEM_S = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class ServerClock:
    """``offset_s``: server minus local, learned from replies (None until one arrives)."""

    def __init__(self, local: Callable[[], datetime] = utc_now) -> None:
        self.local = local
        self._offset_s: float | None = None
        self._lock = threading.Lock()

    @property
    def offset_s(self) -> float | None:
        with self._lock:
            return self._offset_s

    def observe(self, date_header: str | None, sent: datetime, received: datetime) -> None:
        """Learn from one reply's ``Date`` (sent and received are local times)."""
        try:
            server = parsedate_to_datetime(date_header or "")
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            return
        # The header is truncated to the second: its true value is half a second later.
        middle = sent + (received - sent) / 2
        offset = (server - middle).total_seconds() + 0.5
        with self._lock:
            self._offset_s = offset

    def correction(self) -> timedelta:
        """What to add to a local time to make it the server's (0 while unknown or small)."""
        offset = self.offset_s
        if offset is None or abs(offset) < NOTICEABLE_S:
            return timedelta(0)
        return timedelta(seconds=offset)

    def now(self) -> datetime:
        """The server's time now, as well as this PC knows it."""
        return self.local() + self.correction()

    def fast_by_s(self) -> float | None:
        """How many seconds this PC's clock is ahead of the server's (negative: behind)."""
        offset = self.offset_s
        return None if offset is None else round(-offset, 1)

    def problem(self) -> str | None:
        """A sentence for the worker when the clock is noticeably wrong."""
        fast = self.fast_by_s()
        if fast is None or abs(fast) < PROBLEM_S:
            return None
        way = "fast" if fast > 0 else "slow"
        return (
            f"this PC's clock is {abs(fast):.0f} s {way}: events are sent in the server's time,"
            " but the clock should be set right"
        )


def restamped(body: dict[str, object], now: datetime) -> dict[str, object] | None:
    """An event stamped ahead of ``now`` (this PC's clock was fast then and has been set
    right since) moved back so that it ends now, with the shift in its evidence
    (``clock_restamped_s``) for reviewers; None if it is not ahead."""
    stamps = [_time(body.get(k)) for k in ("started_at", "ended_at")]
    latest = max((t for t in stamps if t is not None), default=None)
    if latest is None or (latest - now).total_seconds() <= NOTICEABLE_S:
        return None
    back = latest - now
    out = shifted(body, -back)
    evidence = body.get("evidence")
    out["evidence"] = {
        **(evidence if isinstance(evidence, dict) else {}),
        "clock_restamped_s": round(back.total_seconds(), 1),
    }
    return out


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def shifted(body: dict[str, object], by: timedelta) -> dict[str, object]:
    """An event's wire body with its wall-clock times moved by ``by``."""
    if not by:
        return body
    out = dict(body)
    for key in ("started_at", "ended_at"):
        value = out.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # the server says what is wrong with it
                out[key] = (datetime.fromisoformat(value) + by).isoformat()
    return out
