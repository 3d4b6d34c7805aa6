"""Password re-confirmation by the server (with its lockout): the identity check's only
network I/O, and the one prompt on the local page that waits for it.

A password travels only over https, or to a server on this PC. The server answers whether
it was right and how many tries are left; a lock (429), a refusal or no answer at all are
words for the worker and decide nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from deskwatch.identity import words
from deskwatch.identity.check import IdentityResult, Method, Outcome
from deskwatch.transport.client import DeviceClient, RefusedError, TransportError

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
LOCKED_STATUS = 429

# (ok, tries left) from the server, or words saying why there is no answer.
Answer = tuple[bool, int] | str


def password_may_travel(url: str) -> bool:
    """Only over https, or to a server on this PC."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(host))


def _loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: only "localhost" (above) is taken as this PC
        return False


def server_says(client: DeviceClient, password: str) -> Answer:
    """(ok, tries left) from the server, or words saying why there is no answer."""
    if not password_may_travel(client.base):
        return words.INSECURE_WORDS
    try:
        return client.reconfirm(password)
    except RefusedError as exc:
        return words.LOCKED_WORDS if exc.status == LOCKED_STATUS else words.refused(exc)
    except TransportError:
        return words.UNREACHABLE


def enrolment_refusal(client: DeviceClient, password: str) -> str:
    """Why enrolment may not start ("" when the server confirmed the worker's password)."""
    answer = server_says(client, password)
    if isinstance(answer, str):
        return answer
    ok, tries_left = answer
    if ok:
        return ""
    if tries_left > 0:
        return words.tries_left(tries_left)
    return words.LOCKED_WORDS


@dataclass
class PasswordPrompt:
    """A re-confirmation waiting for the worker's password on the local page."""

    since_s: float  # source clock, for the wait
    ts: float  # frame time it was asked at
    failures: int = 0
    locked: bool = False  # the last answer met the server's lock
    in_flight: int = 0  # answers being checked by the server right now
    done: bool = False  # its one result is given

    def overdue(self, now_s: float, wait_min: float) -> bool:
        """Unanswered for ``wait_min`` minutes, with no answer being checked right now."""
        return not self.in_flight and now_s - self.since_s >= wait_min * 60

    def result(
        self, outcome: Outcome, ts: float, reasons: tuple[str, ...] = ()
    ) -> tuple[IdentityResult, dict[str, float] | None]:
        """Its one result, ending at frame time ``ts``, and the failed attempts' count."""
        result = IdentityResult(
            outcome, Method.PASSWORD, self.ts, max(self.ts, ts), reasons=reasons
        )
        failed = {"failed_attempts": float(self.failures)} if self.failures else None
        return result, failed

    def take(self, answer: Answer) -> tuple[str, Outcome | None]:
        """The page's words for ``answer`` and the prompt's result, if this decides it."""
        if isinstance(answer, str):  # locked, refused or unreachable: the prompt stays open
            self.locked = answer == words.LOCKED_WORDS
            return answer, None
        ok, tries_left = answer
        self.locked = False
        if ok:
            return words.CONFIRMED, Outcome.VERIFIED
        self.failures += 1
        if tries_left > 0:
            return words.tries_left(tries_left), None
        return words.NOT_CONFIRMED, Outcome.MISMATCH
