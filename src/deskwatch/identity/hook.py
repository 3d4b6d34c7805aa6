"""The agent loop's identity check: when one is due, on which frames, and what is sent.

A check is due at shift start (the first frame), after each return from ``away`` and every
``every_min`` minutes, in source time. A worker who enrolled gets a face check on the
frames the loop already reads (no second camera); one who declined is asked for their
password on the local page; one who did neither is reported "not enrolled" once. The
server learns only events with numbers: never a descriptor, an image or a password.

Enrolment starts only after the worker's password is re-confirmed by the server (with its
lockout), so nobody else at the PC can put their own face in the template. A check or a
password prompt that does not end normally (a page action, identity switched off, the
camera re-opened, the agent stopping) is reported ``identity_unverified`` with
``reason_interrupted``; each prompt has exactly one result. Events are stamped like the
rules' events: ``origin`` (when the camera opened) plus the frame's source seconds.

A face check that saw the worker's face but no liveness cue in its passive window becomes a
challenge: the page asks, with a countdown, for a slight head turn or a blink, the log says
so once, and the check keeps watching for up to ``challenge_s`` of frame time (see
``check.FaceWindow.decide``). It ends like any check: its result, or ``reason_interrupted``.

Models are built when a check starts and closed when it ends; with identity disabled in
the policy nothing here runs and dlib is never imported.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity.check import (
    CAMERA_FROZEN,
    LIVENESS_FAILED,
    FaceWindow,
    IdentityResult,
    Method,
    Outcome,
    Problem,
)
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.extra import IdentityUnavailableError
from deskwatch.identity.store import Choice, TemplateError, TemplateStore
from deskwatch.transport.client import DeviceClient, RefusedError, TransportError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from deskwatch.privacy.worker import WorkerPrivacy

log = logging.getLogger(__name__)

NOT_ENROLLED = "not_enrolled"
INTERRUPTED = "reason_interrupted"
LOCKED = "reason_locked"
NO_ANSWER = "reason_no_answer"
UNAVAILABLE = "reason_unavailable"
INSECURE = "reason_insecure_server"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Mode(enum.StrEnum):
    IDLE = "idle"
    CHECKING = "checking"
    ENROLLING = "enrolling"
    AWAITING_PASSWORD = "awaiting_password"


@dataclass
class SourceClock:
    """Source seconds since the agent started, across camera re-opens (whose ts restart)."""

    base: float = 0.0
    last: float | None = None
    restarted: bool = False

    def tick(self, ts: float, new_session: bool = False) -> float:
        self.restarted = self.last is not None and (new_session or ts <= self.last)
        if self.restarted and self.last is not None:
            self.base += self.last
        self.last = ts
        return self.base + ts


@dataclass
class PasswordPrompt:
    """A re-confirmation waiting for the worker's password on the local page."""

    since: float  # source clock, for the wait
    ts: float  # frame time it was asked at
    failures: int = 0
    locked: bool = False  # the last answer met the server's lock
    in_flight: int = 0  # answers being checked by the server right now
    done: bool = False  # its one result is given


@dataclass
class PageView:
    """What the worker's page shows about identity (plain words and numbers)."""

    choice: str
    enrolled: bool
    mode: str
    note: str
    last: dict[str, float] = field(default_factory=dict)
    consenting: bool = False  # the worker agreed; the page asks for their password
    challenge_left_s: float | None = None  # a check asks for a head turn or a blink


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


def server_says(client: DeviceClient, password: str) -> tuple[bool, int] | str:
    """(ok, tries left) from the server, or words saying why there is no answer."""
    if not password_may_travel(client.base):
        return _INSECURE_WORDS
    try:
        return client.reconfirm(password)
    except RefusedError as exc:
        return _LOCKED_WORDS if exc.status == 429 else f"The server refused: {exc}"
    except TransportError:
        return "The server cannot be reached; please try again in a moment."


def enrolment_refusal(client: DeviceClient, password: str) -> str:
    """Why enrolment may not start ("" when the server confirmed the worker's password)."""
    answer = server_says(client, password)
    if isinstance(answer, str):
        return answer
    ok, tries_left = answer
    if ok:
        return ""
    if tries_left > 0:
        return f"That password was not right; {tries_left} tries left."
    return _LOCKED_WORDS


class IdentityHook:
    """Called by the runner with every analysed frame; page actions come from its thread.

    Every field below is guarded by one lock; only the loop's thread builds, feeds and
    closes a check's models, and the page's thread never waits on the server holding it.
    """

    def __init__(self, directory: Path, client: DeviceClient, owner: str | None = None) -> None:
        self.store = TemplateStore(directory, owner)
        self.client = client
        self.clock = SourceClock()
        self.mode = Mode.IDLE
        self.note = ""
        self.last: dict[str, float] = {}
        self._lock = threading.RLock()
        self._pending: list[Event] = []
        self._due_at = 0.0  # shift start: the first frame
        self._window: FaceWindow | None = None
        self._window_epoch = 0
        self._template: NDArray[np.float32] | None = None  # loaded once the passive part ends
        self._epoch = 0  # grows whenever a check or an enrolment starts or is cancelled
        self._started_ts = 0.0  # frame time the open check or enrolment started at
        self._prompt: PasswordPrompt | None = None
        self._was_enrolled: bool | None = None
        self._told_not_enrolled = False
        self._enabled = False  # what the policy said at the last frame
        self._unavailable = False  # the identity extra is missing: off for this run
        self._consenting = False  # the page asks for the password that starts enrolment
        self._ts = 0.0  # the last frame's source seconds
        self._origin: datetime | None = None  # wall-clock time of source second 0
        left = self.store.take_open()  # the last run ended (killed?) with a check open
        if left is not None:
            method = Method(left)
            self._report(
                IdentityResult(Outcome.UNVERIFIED, method, 0.0, 0.0, reasons=(INTERRUPTED,))
            )

    # --- the loop's side --------------------------------------------------------------
    def on_frame(
        self,
        frame: Frame,
        events: list[Event],
        config: IdentityConfig,
        *,
        origin: datetime | None = None,
    ) -> list[Event]:
        """Identity events to send with this frame's (only pending ones while it is off)."""
        with self._lock:
            if not config.enabled or self._unavailable:
                self._switch_off("Identity checks are off.")
                self._drop_window()
                return self._take_pending()
            self._enabled = True
            self._follow_clock(frame, origin)
            now = self.clock.base + frame.ts
            if any(e.type == "away" and not e.is_open for e in events):
                self._due_at = min(self._due_at, now)  # back at the desk: check again
            self._watch_deletion()
            self._schedule(frame, now, config)
        self._feed(frame, config)
        return self._take_pending()

    def _follow_clock(self, frame: Frame, origin: datetime | None) -> None:
        """A new camera session (re-opened, resumed, a file's next pass) interrupts what is
        open, in the old session's time; a new check is then due at once."""
        new_session = origin is not None and origin != self._origin
        now = self.clock.tick(frame.ts, new_session)
        if self.clock.restarted and self._interrupt("the camera was re-opened"):
            self._due_at = now
        self._ts, self._origin = frame.ts, origin

    def _schedule(self, frame: Frame, now: float, config: IdentityConfig) -> None:
        if self.mode is Mode.IDLE and now >= self._due_at:
            self._due_at = now + config.every_min * 60
            self._start(frame, now)
        elif self.mode is Mode.AWAITING_PASSWORD:
            self._password_timeout(now, config)

    def _start(self, frame: Frame, now: float) -> None:
        status = self.store.status()
        if status.choice is Choice.PASSWORD:
            self._ask_password(frame, now)
        elif status.enrolled:
            self._open(Mode.CHECKING, _CHECKING_WORDS)
        else:
            self._not_enrolled()

    def _ask_password(self, frame: Frame, now: float) -> None:
        if not password_may_travel(self.client.base):
            result = IdentityResult(
                Outcome.UNVERIFIED, Method.PASSWORD, frame.ts, frame.ts, reasons=(INSECURE,)
            )
            self._report(result)
            return
        self.mode, self._prompt = Mode.AWAITING_PASSWORD, PasswordPrompt(now, frame.ts)
        self.note = "Please confirm it is you: enter your password below."
        self.store.mark_open(Method.PASSWORD.value)

    def _open(self, mode: Mode, note: str) -> None:
        self.mode, self.note = mode, note
        self._epoch += 1
        self._started_ts = self._ts
        if mode is Mode.CHECKING:
            self.store.mark_open(Method.FACE.value)

    def _feed(self, frame: Frame, config: IdentityConfig) -> None:
        """Give the frame to the open check or enrolment (models outside the lock)."""
        with self._lock:
            window = self._current_window(config)
            epoch = self._epoch
        if window is None:
            return
        window.add(frame)
        with self._lock:
            if epoch == self._epoch and self._window is window:
                self._after_frame(window, frame)

    def _current_window(self, config: IdentityConfig) -> FaceWindow | None:
        if self._window is not None and self._window_epoch != self._epoch:
            self._drop_window()  # cancelled from the page since it was built
        if self.mode not in (Mode.CHECKING, Mode.ENROLLING):
            return None
        if self._window is None:
            try:
                self._window = _open_window(config, self.mode)
            except IdentityUnavailableError as exc:
                self._unavailable_now(exc)
                return None
            self._window_epoch = self._epoch
        return self._window

    def _unavailable_now(self, exc: IdentityUnavailableError) -> None:
        """The extra is missing: said once in the log and to the server, then off."""
        log.error("identity checks switched off for this run: %s", exc)
        checking = self.mode is Mode.CHECKING
        self.mode, self._unavailable = Mode.IDLE, True
        self.store.mark_open(None)
        self.note = "Face checks cannot run on this PC (a part of deskwatch is missing)."
        if checking:
            at = self._started_ts
            self._report(
                IdentityResult(
                    Outcome.UNVERIFIED, Method.FACE, at, self._ts, reasons=(UNAVAILABLE,)
                )
            )

    def _after_frame(self, window: FaceWindow, frame: Frame) -> None:
        from deskwatch.identity.enrolment import EnrolmentWindow

        if isinstance(window, EnrolmentWindow):
            self._enrolment_step(window, frame)
        elif window.done(frame.ts):
            self._check_step(window, frame)

    def _enrolment_step(self, window: FaceWindow, frame: Frame) -> None:
        from deskwatch.identity.enrolment import EnrolmentWindow

        assert isinstance(window, EnrolmentWindow)
        if window.needs_turn(frame.ts):
            self.note = "Almost there: please turn your head slightly left and right."
        if window.done(frame.ts):
            self._end_window(window)
            self._finish_enrolment(window, frame)

    def _check_step(self, window: FaceWindow, frame: Frame) -> None:
        """The passive part is over: the result if it is clear, else the challenge goes on."""
        if self._template is None:
            try:
                self._template = self.store.load()
            except TemplateError as exc:
                log.warning("identity: %s", exc)
                self._end_window(window)
                self._not_enrolled()
                return
        result = window.decide(self._template, frame.ts)
        if result is None:
            self._ask_for_a_cue(window, frame.ts)
            return
        self._end_window(window)
        self._report(result)

    def _ask_for_a_cue(self, window: FaceWindow, ts: float) -> None:
        """The page asks (with a countdown) for a cue; the log says so once per check."""
        if window.challenge_from_s == ts:  # asked from this frame on
            log.info(
                "identity: no liveness cue in the first %.0f s; asking the worker for a head "
                "turn or a blink (up to %.0f s)",
                window.config.window_s,
                window.config.challenge_s,
            )
        self.note = _challenge_words(window)

    def _asked_since(self) -> float | None:
        """When the open check began asking for a cue (frame time); None if it has not (or
        no check is open: one cancelled since keeps its window only until the next frame)."""
        window = self._window
        if self.mode is not Mode.CHECKING or window is None or self._window_epoch != self._epoch:
            return None
        return window.challenge_from_s

    def _end_window(self, window: FaceWindow) -> None:
        """The open check or enrolment (``window``, the current one) is over: its models
        closed, nothing kept."""
        self.mode = Mode.IDLE
        self.store.mark_open(None)
        self._drop_window()

    def _finish_enrolment(self, window: FaceWindow, frame: Frame) -> None:
        from deskwatch.identity.enrolment import EnrolmentWindow, template_of

        assert isinstance(window, EnrolmentWindow)
        try:
            self.store.save(template_of(window))
        except TemplateError as exc:
            self.note = f"Enrolment did not work: {exc}. Please try again."
            return
        self._was_enrolled, self._told_not_enrolled = True, False
        self._due_at = self.clock.base + frame.ts  # verify at once, with liveness
        self.note = "Enrolled. Your face template is encrypted on this PC and never sent."

    def _password_timeout(self, now: float, config: IdentityConfig) -> None:
        prompt = self._prompt
        if prompt is None or prompt.in_flight or now - prompt.since < config.password_wait_min * 60:
            return
        reason = LOCKED if prompt.locked else NO_ANSWER
        self._end_prompt(prompt, Outcome.UNVERIFIED, (reason,))

    def _watch_deletion(self) -> None:
        """Once a template is gone (page, CLI or by hand), say "not enrolled" once."""
        enrolled = self.store.status().enrolled
        was, self._was_enrolled = self._was_enrolled, enrolled
        if was and not enrolled:
            self._interrupt("the face template was deleted", only=Mode.CHECKING)
            self._told_not_enrolled = False
            self._not_enrolled()

    def _not_enrolled(self) -> None:
        if self._told_not_enrolled:
            return  # said once; nothing more
        self._told_not_enrolled = True
        event = Event(
            type="identity_unverified",
            start_s=self._ts,
            end_s=self._ts,
            peak_confidence=1.0,
            evidence={NOT_ENROLLED: 1.0},
        )
        self.last = dict(event.evidence)
        self._pending.append(self._stamped(event))

    def _report(self, result: IdentityResult, extra: dict[str, float] | None = None) -> None:
        event = result.to_event()
        if extra:
            event = event.model_copy(update={"evidence": {**event.evidence, **extra}})
        self.last = dict(event.evidence)
        self.note = _words(result)
        log.info("identity: %s %s", event.type, event.evidence)
        self._pending.append(self._stamped(event))

    def _stamped(self, event: Event) -> Event:
        """Wall-clock times as the rules give them: the session's origin + source seconds
        (before any frame has come there is no source time: then it is now)."""
        end = event.end_s if event.end_s is not None else event.start_s
        origin = self._origin or datetime.now(UTC) - timedelta(seconds=end)
        return event.model_copy(
            update={
                "started_at": origin + timedelta(seconds=event.start_s),
                "ended_at": origin + timedelta(seconds=end),
            }
        )

    def _take_pending(self) -> list[Event]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def _interrupt(self, why: str, only: Mode | None = None) -> bool:
        """End the open check or prompt as unverified (``reason_interrupted``) and cancel an
        enrolment; True if a check or prompt was open."""
        mode = self.mode
        if only is not None and mode is not only:
            return False
        since = self._asked_since()  # before the check is cancelled below
        self._epoch += 1  # the loop drops a cancelled window at its next frame
        self.mode = Mode.IDLE
        self.store.mark_open(None)
        self._template = None
        if mode is Mode.CHECKING:
            start = min(self._started_ts, self._ts)
            used = None if since is None else max(0.0, self._ts - since)
            self._report(
                IdentityResult(
                    Outcome.UNVERIFIED,
                    Method.FACE,
                    start,
                    self._ts,
                    reasons=(INTERRUPTED,),
                    challenge_s=used,
                )
            )
        elif mode is Mode.AWAITING_PASSWORD and self._prompt is not None:
            self._end_prompt(self._prompt, Outcome.UNVERIFIED, (INTERRUPTED,))
        elif mode is Mode.ENROLLING:
            self.note = "Enrolment cancelled: nothing was kept."
        if mode in (Mode.CHECKING, Mode.AWAITING_PASSWORD):
            log.info("identity: open %s interrupted (%s)", mode.value, why)
            return True
        return False

    def _end_prompt(
        self, prompt: PasswordPrompt, outcome: Outcome, reasons: tuple[str, ...] = ()
    ) -> None:
        """The prompt's one result (later answers to it are refused)."""
        prompt.done = True
        self._prompt = None
        self.store.mark_open(None)
        if self.mode is Mode.AWAITING_PASSWORD:
            self.mode = Mode.IDLE
        result = IdentityResult(
            outcome, Method.PASSWORD, prompt.ts, max(prompt.ts, self._ts), reasons=reasons
        )
        failed = {"failed_attempts": float(prompt.failures)} if prompt.failures else None
        self._report(result, failed)

    def _switch_off(self, note: str) -> None:
        """Identity is off (policy, consent, missing extra): end what is open (the loop's
        thread frees the models at its next frame)."""
        if self._enabled and self._interrupt("identity checks were switched off"):
            self.note = note
        self._enabled = self._consenting = False

    def _drop_window(self) -> None:
        self._template = None
        if self._window is not None:
            self._window.close()
            self._window = None

    def close(self) -> list[Event]:
        """The agent stops: what is open ends as interrupted; the events still to send."""
        return self._end("the agent stopped")

    def pause(self) -> list[Event]:
        """The worker paused: what is open ends as interrupted at once and its models go; a
        new check (or prompt) is due at the first frame after the resume, so a pause never
        skips one. The events still to send."""
        return self._end("the worker paused", again=True)

    def _end(self, why: str, *, again: bool = False) -> list[Event]:
        with self._lock:
            if self._interrupt(why) and again:
                self._due_at = 0.0  # due at once, whatever the clock says after the resume
            self._drop_window()
            return self._take_pending()

    # --- privacy ------------------------------------------------------------------------
    def follow_privacy(self, privacy: WorkerPrivacy, *, from_server: bool) -> None:
        """Consent withdrawn (the identity category objected to, or off for the team, as the
        server says): the template is deleted and the server told "not enrolled"."""
        if not from_server:
            return  # the built-in defaults are no one's decision
        identity = next((c for c in privacy.categories if c.key == "identity"), None)
        if identity is None or identity.on:
            return
        with self._lock:
            if not self.store.status().enrolled:
                return  # a password choice is no biometric data: it stays
            self._interrupt("consent was withdrawn")
            self.store.delete(Choice.NONE)
            self.note = (
                "You withdrew consent for identity checks: your face template was deleted."
                if identity.objected
                else "Identity checks are off for your team: your face template was deleted."
            )
            self._was_enrolled, self._told_not_enrolled = False, False
            self._not_enrolled()

    # --- the page's side ----------------------------------------------------------------
    def ask_consent(self) -> None:
        """The worker agreed: the page now asks for their password before anything starts."""
        with self._lock:
            refused = self._page_refusal()
            self._consenting = not refused
            self.note = refused or "To start enrolling, type your password (checked by the server)."

    def cancel_consent(self) -> None:
        with self._lock:
            self._consenting = False
            self.note = "Nothing was started."

    def consent(self, password: str) -> str:
        """The worker agreed and the server re-confirmed their password: enrol from the next
        frames (whatever was open ends as interrupted). The outcome is also the page's note."""
        with self._lock:
            refused = self._page_refusal()
            if self.mode is Mode.ENROLLING:
                refused = "Enrolment is already running: look at the camera."
            if refused:
                self.note = refused
                return refused
        refused = enrolment_refusal(self.client, password)
        with self._lock:
            if refused:
                self.note = refused
                return refused
            self._consenting = False
            self._interrupt("the worker started an enrolment")
            self._open(Mode.ENROLLING, _ENROL_WORDS)
            return self.note

    def decline(self) -> str:
        """The worker declined biometrics: any template goes, passwords from now on."""
        with self._lock:
            self._consenting = False
            face = self.mode in (Mode.CHECKING, Mode.ENROLLING)
            if face and self._interrupt("the worker declined face checks"):
                self._due_at = self.clock.base + self._ts  # a password prompt at once
            self.store.delete(Choice.PASSWORD)
            self._was_enrolled = False
            self.note = "No face template is kept. You will be asked for your password instead."
            return self.note

    def delete(self) -> str:
        """The worker deleted their template: checks stop; the server hears "not enrolled"."""
        with self._lock:
            self._consenting = False
            self._interrupt("the worker deleted the template")
            had = self.store.delete(Choice.NONE)
            self.note = (
                "Your face template is deleted. Identity checks are off."
                if had
                else "There was no face template to delete."
            )
            if had:
                self._was_enrolled, self._told_not_enrolled = False, False
                self._not_enrolled()
            return self.note

    def password(self, password: str) -> str:
        """Re-confirm a pending prompt with the server; the answer in words for the page."""
        with self._lock:
            prompt = self._prompt
            if not self._enabled or prompt is None or prompt.done:
                return "No confirmation is due right now."
            if not password_may_travel(self.client.base):
                return _INSECURE_WORDS
            prompt.in_flight += 1
        try:
            answer = server_says(self.client, password)
        finally:
            with self._lock:
                prompt.in_flight -= 1
        with self._lock:
            if prompt.done or prompt is not self._prompt:
                return "This confirmation had already ended; nothing more was sent."
            self.note = self._answered(prompt, answer)
            return self.note

    def _answered(self, prompt: PasswordPrompt, answer: tuple[bool, int] | str) -> str:
        if isinstance(answer, str):  # locked, refused or unreachable: the prompt stays open
            prompt.locked = answer == _LOCKED_WORDS
            return answer
        ok, tries_left = answer
        prompt.locked = False
        if ok:
            self._end_prompt(prompt, Outcome.VERIFIED)
            return "Identity confirmed."
        prompt.failures += 1
        if tries_left > 0:
            return f"That password was not right; {tries_left} tries left."
        self._end_prompt(prompt, Outcome.MISMATCH)
        return "That password was not right either: identity not confirmed."

    def _page_refusal(self) -> str:
        if not self._enabled:
            return "Identity checks are off: there is nothing to enrol for."
        if not password_may_travel(self.client.base):
            return _INSECURE_WORDS
        return ""

    def set_enabled(self, enabled: bool) -> None:
        """The page's view of the policy, for actions while no frame arrives (paused)."""
        with self._lock:
            if not enabled:
                self._switch_off("Identity checks are off.")
            else:
                self._enabled = not self._unavailable

    def view(self) -> PageView:
        with self._lock:
            status = self.store.status()
            since = self._asked_since()
            left = None
            if since is not None and self._window is not None:
                left = max(0.0, since + self._window.config.challenge_s - self._ts)
            return PageView(
                status.choice.value,
                status.enrolled,
                self.mode.value,
                self.note,
                dict(self.last),
                self._consenting,
                left,
            )


def _open_window(config: IdentityConfig, mode: Mode) -> FaceWindow:
    from deskwatch.identity.check import check_window
    from deskwatch.identity.enrolment import enrolment_window

    return enrolment_window(config) if mode is Mode.ENROLLING else check_window(config)


_ENROL_WORDS = "Enrolling: look at the camera and turn your head slightly left and right, slowly."
_CHECKING_WORDS = "Identity check running: nothing to do unless this page asks you."
CHALLENGE_WORDS = "Identity check: please turn your head slightly to one side and back, or blink."
_FACE_HINTS = {
    Problem.TOO_FAR: "please sit a little closer to the camera",
    Problem.DARK: "please put more light on your face",
}
_INSECURE_WORDS = (
    "Your password is not sent: the server's address is not https. Ask your administrator "
    "to use an https address for deskwatch."
)
_LOCKED_WORDS = (
    "Too many wrong passwords: the server has locked confirmation for up to 15 minutes. "
    "Please try again later."
)


# In the order they are looked for: the first reason a result has gives its words.
_REASON_WORDS = {
    CAMERA_FROZEN: "Identity check could not see a live face: the camera picture froze.",
    LIVENESS_FAILED: (
        "Identity check could not see a live face: no head turn or blink was seen in time."
    ),
    INTERRUPTED: "The identity check was interrupted.",
    INSECURE: _INSECURE_WORDS,
    LOCKED: _LOCKED_WORDS,
    NO_ANSWER: "The password confirmation was not answered in time.",
    UNAVAILABLE: "Face checks cannot run on this PC (a part of deskwatch is missing).",
    f"reason_{Problem.MULTIPLE_FACES}": (
        "Identity check saw more than one face: it compares only when you are alone."
    ),
}


def _words(result: IdentityResult) -> str:
    if result.outcome is Outcome.VERIFIED:
        return "Identity confirmed."
    if result.outcome is Outcome.MISMATCH:
        return "Identity not confirmed."
    for reason, words in _REASON_WORDS.items():
        if reason in result.reasons:
            return words
    return "Identity check could not see your face clearly (light, distance, facing)."


def _challenge_words(window: FaceWindow) -> str:
    """What the page asks for: a cue, and first a comparable face if there is none yet."""
    if window.captures:
        return CHALLENGE_WORDS
    hint = _FACE_HINTS.get(window.main_problem(), "please face the camera")
    if window.liveness().passed:
        return f"Identity check: {hint}."
    return f"Identity check: {hint}, then turn your head slightly to one side and back, or blink."
