"""The identity check's state machine, in frame time: idle, a face check, an enrolment, or
a password prompt; which starts when, how each ends, and the one event each result is.

A face check that saw the worker's face but no liveness cue in its passive window becomes a
challenge: the note asks for a slight head turn or a blink, the log says so once, and the
check keeps watching for up to ``challenge_s`` of frame time (``check.FaceWindow.decide``).
Whatever is open and does not end normally (a page action, identity switched off, the
camera re-opened, the agent stopping) ends as ``reason_interrupted``: each check and each
prompt has exactly one result.

No network and no threads here: the hook holds the lock, asks the server, and feeds the
open window's models outside the lock (``feed``, then ``fed``); ``update`` does a whole
frame at once. A window's models are built and closed only by the frame's caller.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity import words
from deskwatch.identity.check import FaceWindow, IdentityResult, Method, Outcome
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.extra import IdentityUnavailableError
from deskwatch.identity.face import FaceRun, FaceRuns, Feed
from deskwatch.identity.lifecycle import TemplateLifecycle
from deskwatch.identity.outbox import Outbox
from deskwatch.identity.reconfirm import Answer, PasswordPrompt, password_may_travel
from deskwatch.identity.schedule import Schedule, SourceClock
from deskwatch.identity.store import Choice, TemplateError

log = logging.getLogger(__name__)


class Mode(enum.StrEnum):
    IDLE = "idle"
    CHECKING = "checking"
    ENROLLING = "enrolling"
    AWAITING_PASSWORD = "awaiting_password"


class IdentityMachine:
    """What is open, and the events and the page's note that follow from frames."""

    def __init__(self, lifecycle: TemplateLifecycle, server_url: str) -> None:
        self.lifecycle = lifecycle
        self.server_url = server_url  # a password prompt needs https (or this PC)
        self.clock = SourceClock()
        self.schedule = Schedule()
        self.outbox = Outbox()
        self.note = ""
        self.unavailable = False  # the identity extra is missing: off for this run
        self.prompt: PasswordPrompt | None = None
        self.faces = FaceRuns()
        left = lifecycle.left_open()  # the last run ended (killed?) with a check open
        if left is not None:
            self._report(
                IdentityResult(Outcome.UNVERIFIED, left, 0.0, 0.0, reasons=(words.INTERRUPTED,))
            )

    @property
    def mode(self) -> Mode:
        run = self.faces.open
        if run is not None:
            return Mode.ENROLLING if run.enrolling else Mode.CHECKING
        return Mode.IDLE if self.prompt is None else Mode.AWAITING_PASSWORD

    @property
    def ts(self) -> float:
        """The last frame's source seconds."""
        return self.outbox.ts

    @property
    def now_s(self) -> float:
        """The source clock at the last frame."""
        return self.clock.now_s(self.ts)

    # --- frames -------------------------------------------------------------------------
    def update(
        self,
        frame: Frame,
        config: IdentityConfig,
        *,
        away_ended: bool = False,
        origin: datetime | None = None,
    ) -> list[Event]:
        """One frame, all in this thread: ``advance``, ``feed`` and ``fed``; the events."""
        self.advance(frame, config, away_ended=away_ended, origin=origin)
        feed = self.feed(config)
        if feed is not None:
            feed.window.add(frame)
            self.fed(feed, frame)
        return self.take_events()

    def advance(
        self, frame: Frame, config: IdentityConfig, *, away_ended: bool, origin: datetime | None
    ) -> None:
        """The clock and the schedule: what starts or times out at this frame."""
        self._follow_clock(frame, origin)
        now = self.clock.now_s(frame.ts)
        if away_ended:
            self.schedule.back_at_desk(now)  # back at the desk: check again
        if self.lifecycle.deleted_since_last_look():
            self.interrupt("the face template was deleted", only=Mode.CHECKING)
            self.not_enrolled()
        prompt = self.prompt
        if self.mode is Mode.IDLE and self.schedule.take(now, config.every_min):
            self._start(frame, now)
        elif prompt is not None and prompt.overdue(now, config.password_wait_min):
            reason = words.LOCKED if prompt.locked else words.NO_ANSWER
            self._end_prompt(prompt, Outcome.UNVERIFIED, (reason,))

    def _follow_clock(self, frame: Frame, origin: datetime | None) -> None:
        """A new camera session (re-opened, resumed, a file's next pass) interrupts what is
        open, in the old session's time; a new check is then due at once."""
        new_session = origin is not None and origin != self.outbox.origin
        now = self.clock.tick(frame.ts, new_session)
        if self.clock.restarted and self.interrupt("the camera was re-opened"):
            self.schedule.at(now)
        self.outbox.ts, self.outbox.origin = frame.ts, origin

    def _start(self, frame: Frame, now: float) -> None:
        status = self.lifecycle.status()
        if status.choice is Choice.PASSWORD:
            self._ask_password(frame, now)
        elif status.enrolled:
            self._open(Mode.CHECKING, words.CHECKING)
        else:
            self.not_enrolled()

    def _ask_password(self, frame: Frame, now: float) -> None:
        if not password_may_travel(self.server_url):
            reasons = (words.INSECURE,)
            self._report(
                IdentityResult(
                    Outcome.UNVERIFIED, Method.PASSWORD, frame.ts, frame.ts, reasons=reasons
                )
            )
            return
        self.prompt = PasswordPrompt(now, frame.ts)
        self.note = words.ASK_PASSWORD
        self.lifecycle.mark_open(Method.PASSWORD)

    def start_enrolment(self) -> None:
        """Enrol from the next frames (the caller interrupted whatever was open)."""
        self._open(Mode.ENROLLING, words.ENROLLING)

    def _open(self, mode: Mode, note: str) -> None:
        self.faces.start(enrolling=mode is Mode.ENROLLING, ts=self.ts)
        self.note = note
        if mode is Mode.CHECKING:
            self.lifecycle.mark_open(Method.FACE)

    # --- the open window ----------------------------------------------------------------
    def feed(self, config: IdentityConfig) -> Feed | None:
        """The open check's or enrolment's window, its models built now if needed."""
        run = self.faces.open
        try:
            return self.faces.feed(config)
        except IdentityUnavailableError as exc:
            assert run is not None
            self._unavailable_now(run, exc)
            return None

    def fed(self, feed: Feed, frame: Frame) -> None:
        """``feed`` has seen ``frame``: the run's next step, unless it was cancelled since."""
        if not self.faces.is_current(feed):
            return
        if feed.run.enrolling:
            self._enrolment_step(feed.window, frame)
        elif feed.window.done(frame.ts):
            self._check_step(feed.run, feed.window, frame)

    def _unavailable_now(self, run: FaceRun, exc: IdentityUnavailableError) -> None:
        """The extra is missing: said once in the log and to the server, then off."""
        log.error("identity checks switched off for this run: %s", exc)
        self.unavailable = True
        self.lifecycle.mark_open(None)
        self.note = words.MISSING_EXTRA
        if not run.enrolling:
            self._report(run.unverified(self.ts, words.UNAVAILABLE))

    def _enrolment_step(self, window: FaceWindow, frame: Frame) -> None:
        from deskwatch.identity.enrolment import EnrolmentWindow

        assert isinstance(window, EnrolmentWindow)
        if window.needs_turn(frame.ts):
            self.note = words.ENROL_TURN
        if not window.done(frame.ts):
            return
        self._end_run()
        failed = self.lifecycle.keep(window)
        if failed:
            self.note = words.enrolment_failed(failed)
            return
        self.schedule.at(self.clock.now_s(frame.ts))  # verify at once, with liveness
        self.note = words.ENROLLED

    def _check_step(self, run: FaceRun, window: FaceWindow, frame: Frame) -> None:
        """The passive part is over: the result if it is clear, else the challenge goes on."""
        if run.template is None:
            try:
                run.template = self.lifecycle.load()
            except TemplateError as exc:
                log.warning("identity: %s", exc)
                self._end_run()
                self.not_enrolled()
                return
        result = window.decide(run.template, frame.ts)
        if result is None:
            self._ask_for_a_cue(window, frame.ts)
            return
        self._end_run()
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
        self.note = words.challenge_words(window)

    def challenge_left_s(self) -> float | None:
        """Seconds of frame time the open check still asks for a cue (None: not asking)."""
        return self.faces.challenge_left_s(self.ts)

    def _end_run(self) -> None:
        """The open check or enrolment is over: its models closed, nothing kept."""
        self.lifecycle.mark_open(None)
        self.faces.end()

    def drop_window(self) -> None:
        """Close the models of the open run (rebuilt at its next frame) and cancelled ones."""
        self.faces.drop()

    # --- results ------------------------------------------------------------------------
    def take_events(self) -> list[Event]:
        return self.outbox.take()

    def not_enrolled(self) -> None:
        """Tell the server "not enrolled", once (until the next template)."""
        if self.lifecycle.tell_not_enrolled():
            self.outbox.not_enrolled()

    def _report(self, result: IdentityResult, extra: dict[str, float] | None = None) -> None:
        self.outbox.report(result, extra)
        self.note = words.result_words(result)

    def interrupt(self, why: str, only: Mode | None = None) -> bool:
        """End the open check or prompt as unverified (``reason_interrupted``) and cancel an
        enrolment; True if a check or prompt was open."""
        mode = self.mode
        if only is not None and mode is not only:
            return False
        since = self.faces.asked_since()  # before the check is cancelled below
        prompt = self.prompt
        run = self.faces.cancel()  # its models go at the next frame
        self.lifecycle.mark_open(None)
        if run is not None and not run.enrolling:
            self._report(run.unverified(self.ts, words.INTERRUPTED, asked_since=since))
        elif prompt is not None:
            self._end_prompt(prompt, Outcome.UNVERIFIED, (words.INTERRUPTED,))
        elif run is not None:
            self.note = words.ENROL_CANCELLED
        if mode in (Mode.CHECKING, Mode.AWAITING_PASSWORD):
            log.info("identity: open %s interrupted (%s)", mode.value, why)
            return True
        return False

    def answered(self, prompt: PasswordPrompt, answer: Answer) -> str:
        """The server's ``answer`` to the open ``prompt``: its words, the result if decided."""
        said, outcome = prompt.take(answer)
        if outcome is not None:
            self._end_prompt(prompt, outcome)
        return said

    def _end_prompt(
        self, prompt: PasswordPrompt, outcome: Outcome, reasons: tuple[str, ...] = ()
    ) -> None:
        """The prompt's one result (later answers to it are refused)."""
        prompt.done = True
        self.prompt = None
        self.lifecycle.mark_open(None)
        self._report(*prompt.result(outcome, self.ts, reasons))
