"""The agent loop's identity check: when one is due, on which frames, and what is sent.

A check is due at shift start (the first frame), after each return from ``away`` and every
``every_min`` minutes, in source time. A worker who enrolled gets a face check on the
frames the loop already reads (no second camera); one who declined is asked for their
password on the local page; one who did neither is reported "not enrolled" once. The
server learns only events with numbers: never a descriptor, an image or a password.

Models are built when a check starts and closed when it ends; with identity disabled in
the policy nothing here runs and dlib is never imported.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity.check import FaceWindow, IdentityResult, Method, Outcome
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.store import Choice, TemplateError, TemplateStore
from deskwatch.transport.client import DeviceClient, RefusedError, TransportError

log = logging.getLogger(__name__)

NOT_ENROLLED = "not_enrolled"


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

    def tick(self, ts: float) -> float:
        self.restarted = self.last is not None and ts <= self.last
        if self.restarted and self.last is not None:
            self.base += self.last
        self.last = ts
        return self.base + ts


@dataclass
class PasswordPrompt:
    """A re-confirmation waiting for the worker's password on the local page."""

    since: float  # source clock
    ts: float  # frame time it was asked at
    failures: int = 0


@dataclass
class PageView:
    """What the worker's page shows about identity (plain words and numbers)."""

    choice: str
    enrolled: bool
    mode: str
    note: str
    last: dict[str, float] = field(default_factory=dict)


class IdentityHook:
    """Called by the runner with every analysed frame; page actions come from its thread."""

    def __init__(self, directory: Path, client: DeviceClient) -> None:
        self.store = TemplateStore(directory)
        self.client = client
        self.clock = SourceClock()
        self.mode = Mode.IDLE
        self.note = ""
        self.last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._due_at = 0.0  # shift start: the first frame
        self._window: FaceWindow | None = None
        self._prompt: PasswordPrompt | None = None
        self._enrol_requested = False
        self._was_enrolled: bool | None = None
        self._told_not_enrolled = False

    # --- the loop's side --------------------------------------------------------------
    def on_frame(self, frame: Frame, events: list[Event], config: IdentityConfig) -> list[Event]:
        """Identity events to send with this frame's (none while the policy has it off)."""
        if not config.enabled:
            self.close()
            return []
        now = self.clock.tick(frame.ts)
        if self.clock.restarted:
            self._end_window()
        if any(e.type == "away" and not e.is_open for e in events):
            self._due_at = min(self._due_at, now)  # back at the desk: check again
        out = [*self._take_pending(), *self._watch_deletion()]
        out += self._advance(frame, now, config)
        return [_stamped(e) for e in out]

    def _advance(self, frame: Frame, now: float, config: IdentityConfig) -> list[Event]:
        with self._lock:
            enrol, self._enrol_requested = self._enrol_requested, False
        if enrol:
            self._end_window()
            self.mode, self._prompt = Mode.ENROLLING, None
        if self.mode is Mode.IDLE and now >= self._due_at:
            self._due_at = now + config.every_min * 60
            return self._start(frame, now)
        if self.mode in (Mode.CHECKING, Mode.ENROLLING):
            return self._feed(frame, config)
        if self.mode is Mode.AWAITING_PASSWORD:
            return self._password_timeout(frame, now, config)
        return []

    def _start(self, frame: Frame, now: float) -> list[Event]:
        status = self.store.status()
        if status.choice is Choice.PASSWORD:
            self.mode, self._prompt = Mode.AWAITING_PASSWORD, PasswordPrompt(now, frame.ts)
            self.note = "Please confirm it is you: enter your password below."
            return []
        if status.enrolled:
            self.mode = Mode.CHECKING
            self.note = "Identity check: look at the camera, then glance aside or blink."
            return []
        return self._not_enrolled(frame.ts)

    def _feed(self, frame: Frame, config: IdentityConfig) -> list[Event]:
        if self._window is None:
            self._window = _open_window(config, self.mode)
        self._window.add(frame)
        if not self._window.done(frame.ts):
            return []
        window, self._window = self._window, None
        try:
            if self.mode is Mode.ENROLLING:
                return self._finish_enrolment(window, frame)
            return self._finish_check(window, frame)
        finally:
            window.close()
            self.mode = Mode.IDLE

    def _finish_check(self, window: FaceWindow, frame: Frame) -> list[Event]:
        try:
            template = self.store.load()
        except TemplateError as exc:
            log.warning("identity: %s", exc)
            return self._not_enrolled(frame.ts)
        return [self._report(window.verdict(template))]

    def _finish_enrolment(self, window: FaceWindow, frame: Frame) -> list[Event]:
        from deskwatch.identity.enrolment import save_template

        try:
            save_template(window, self.store)
        except TemplateError as exc:
            self.note = f"Enrolment did not work: {exc}. Please try again."
            return []
        self._was_enrolled, self._told_not_enrolled = True, False
        self._due_at = self.clock.base + frame.ts  # verify at once, with liveness
        self.note = "Enrolled. Your face template is encrypted on this PC and never sent."
        return []

    def _password_timeout(self, frame: Frame, now: float, config: IdentityConfig) -> list[Event]:
        prompt = self._prompt
        if prompt is None or now - prompt.since < config.password_wait_min * 60:
            return []
        self.mode, self._prompt = Mode.IDLE, None
        result = IdentityResult(
            Outcome.UNVERIFIED, Method.PASSWORD, prompt.ts, frame.ts, reasons=("reason_no_answer",)
        )
        return [self._report(result)]

    def _watch_deletion(self) -> list[Event]:
        """Once a template is gone (page or CLI), say "not enrolled" once and stop checking."""
        enrolled = self.store.status().enrolled
        was, self._was_enrolled = self._was_enrolled, enrolled
        if was and not enrolled:
            self._told_not_enrolled = False
            if self.mode in (Mode.CHECKING, Mode.ENROLLING):
                self._end_window()
                self.mode = Mode.IDLE
            return self._not_enrolled(self.clock.last or 0.0)
        return []

    def _not_enrolled(self, ts: float) -> list[Event]:
        self.mode = Mode.IDLE
        if self._told_not_enrolled:
            return []  # said once; nothing more
        self._told_not_enrolled = True
        event = Event(
            type="identity_unverified",
            start_s=ts,
            end_s=ts,
            peak_confidence=1.0,
            evidence={NOT_ENROLLED: 1.0},
        )
        self.last = dict(event.evidence)
        return [event]

    def _report(self, result: IdentityResult) -> Event:
        event = result.to_event()
        self.last = dict(event.evidence)
        self.note = _words(result)
        log.info("identity: %s %s", event.type, event.evidence)
        return event

    def _take_pending(self) -> list[Event]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def _end_window(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

    def close(self) -> None:
        """Free the models of a check in progress (the policy turned identity off, or exit)."""
        self._end_window()
        if self.mode in (Mode.CHECKING, Mode.ENROLLING):
            self.mode = Mode.IDLE

    # --- the page's side ----------------------------------------------------------------
    def consent(self) -> None:
        """The worker agreed: enrol from the next frames."""
        with self._lock:
            self._enrol_requested = True
        self.note = "Enrolling: look at the camera and turn your head slightly left and right."

    def decline(self) -> None:
        """The worker declined biometrics: any template goes, passwords from now on."""
        self.store.delete(Choice.PASSWORD)
        self.note = "No face template is kept. You will be asked for your password instead."

    def delete(self) -> None:
        """The worker deleted their template: checks stop; the server hears "not enrolled"."""
        self.store.delete(Choice.NONE)
        self.note = "Your face template is deleted. Identity checks are off."

    def password(self, password: str) -> str:
        """Re-confirm with the server; the answer in words for the page."""
        prompt = self._prompt
        if self.mode is not Mode.AWAITING_PASSWORD or prompt is None:
            return "No confirmation is due right now."
        try:
            ok, tries_left = self.client.reconfirm(password)
        except RefusedError as exc:
            if exc.status != 429:
                return f"The server refused: {exc}"
            ok, tries_left = False, 0
        except TransportError:
            return "The server cannot be reached; please try again in a moment."
        if not ok and tries_left > 0:
            prompt.failures += 1
            self.note = f"That password was not right; {tries_left} tries left."
            return self.note
        self._answered(prompt, ok)
        return self.note

    def _answered(self, prompt: PasswordPrompt, ok: bool) -> None:
        outcome = Outcome.VERIFIED if ok else Outcome.MISMATCH
        end = self.clock.last if self.clock.last is not None else prompt.ts
        result = IdentityResult(outcome, Method.PASSWORD, prompt.ts, max(prompt.ts, end))
        event = self._report(result)
        if prompt.failures:
            event = event.model_copy(
                update={"evidence": {**event.evidence, "failed_attempts": float(prompt.failures)}}
            )
        with self._lock:
            self._pending.append(event)
        self.mode, self._prompt = Mode.IDLE, None

    def view(self) -> PageView:
        status = self.store.status()
        return PageView(status.choice.value, status.enrolled, self.mode.value, self.note, self.last)


def _open_window(config: IdentityConfig, mode: Mode) -> FaceWindow:
    from deskwatch.identity.encoder import FaceEncoder, FaceEncoderOptions
    from deskwatch.identity.enrolment import enrolment_window
    from deskwatch.perception.face_mesh import FaceMesh, FaceMeshOptions

    if mode is Mode.ENROLLING:
        return enrolment_window(config)
    mesh = FaceMesh.create_from_options(FaceMeshOptions())
    encoder = FaceEncoder.create_from_options(FaceEncoderOptions())
    return FaceWindow(config, mesh, encoder, config.descriptor_frames)


def _stamped(event: Event) -> Event:
    """Wall-clock times for the server's timeline: it ended now."""
    now = datetime.now(UTC)
    span = (event.end_s or event.start_s) - event.start_s
    return event.model_copy(update={"started_at": now - timedelta(seconds=span), "ended_at": now})


def _words(result: IdentityResult) -> str:
    if result.outcome is Outcome.VERIFIED:
        return "Identity confirmed."
    if result.outcome is Outcome.MISMATCH:
        return "Identity not confirmed."
    if "liveness_failed" in result.reasons:
        return "Identity check could not see a live face: glance aside or blink next time."
    return "Identity check could not see your face clearly (light, distance, facing)."
