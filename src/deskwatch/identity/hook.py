"""The agent loop's identity check: the one lock between the loop's and the page's threads.

A check is due at shift start (the first frame), after each return from ``away`` and every
``every_min`` minutes, in source time (``schedule``). A worker who enrolled gets a face
check on the frames the loop already reads (no second camera); one who declined is asked
for their password on the local page; one who did neither is reported "not enrolled" once
(``machine``). The server learns only events with numbers: never a descriptor, an image or
a password (``outbox``).

Enrolment starts only after the worker's password is re-confirmed by the server (with its
lockout, ``reconfirm``), so nobody else at the PC can put their own face in the template.
Consent, decline, deletion and withdrawal change the template (``lifecycle``); the page's
words are in ``words``.

Models are built when a check starts and closed when it ends, on the loop's thread and
outside the lock; with identity disabled in the policy nothing here runs and dlib is never
imported.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity import words
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.lifecycle import TemplateLifecycle
from deskwatch.identity.machine import IdentityMachine, Mode
from deskwatch.identity.reconfirm import enrolment_refusal, password_may_travel, server_says
from deskwatch.identity.schedule import SourceClock
from deskwatch.identity.store import TemplateStore
from deskwatch.transport.client import DeviceClient

if TYPE_CHECKING:
    from deskwatch.privacy.worker import WorkerPrivacy


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


class IdentityHook:
    """Called by the runner with every analysed frame; page actions come from its thread.

    The machine and the lifecycle are guarded by one lock; only the loop's thread builds,
    feeds and closes a check's models, and the page's thread never waits on the server
    holding it.
    """

    def __init__(self, directory: Path, client: DeviceClient, owner: str | None = None) -> None:
        self.store = TemplateStore(directory, owner)
        self.client = client
        self.lifecycle = TemplateLifecycle(self.store)
        self.machine = IdentityMachine(self.lifecycle, client.base)
        self._lock = threading.RLock()
        self._enabled = False  # what the policy said at the last frame

    @property
    def clock(self) -> SourceClock:
        return self.machine.clock

    @property
    def mode(self) -> Mode:
        return self.machine.mode

    @property
    def note(self) -> str:
        return self.machine.note

    @note.setter
    def note(self, note: str) -> None:
        with self._lock:
            self.machine.note = note

    @property
    def last(self) -> dict[str, float]:
        return self.machine.outbox.last

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
            if not config.enabled or self.machine.unavailable:
                self._switch_off(words.OFF)
                self.machine.drop_window()
                return self.machine.take_events()
            self._enabled = True
            away_ended = any(e.type == "away" and not e.is_open for e in events)
            self.machine.advance(frame, config, away_ended=away_ended, origin=origin)
        with self._lock:
            feed = self.machine.feed(config)
        if feed is not None:
            feed.window.add(frame)  # the models, outside the lock
            with self._lock:
                self.machine.fed(feed, frame)
        with self._lock:
            return self.machine.take_events()

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
            if self.machine.interrupt(why) and again:
                self.machine.schedule.at_first_frame()  # whatever the clock says after it
            self.machine.drop_window()
            return self.machine.take_events()

    def _switch_off(self, note: str) -> None:
        """Identity is off (policy, consent, missing extra): end what is open (the loop's
        thread frees the models at its next frame)."""
        if self._enabled and self.machine.interrupt("identity checks were switched off"):
            self.machine.note = note
        self._enabled = self.lifecycle.consenting = False

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
            if not self.lifecycle.status().enrolled:
                return  # a password choice is no biometric data: it stays
            self.machine.interrupt("consent was withdrawn")
            self.lifecycle.withdraw()
            self.machine.note = words.withdrawn(identity.objected)
            self.machine.not_enrolled()

    # --- the page's side ----------------------------------------------------------------
    def ask_consent(self) -> None:
        """The worker agreed: the page now asks for their password before anything starts."""
        with self._lock:
            refused = self._page_refusal()
            self.lifecycle.consenting = not refused
            self.machine.note = refused or words.ASK_ENROL_PASSWORD

    def cancel_consent(self) -> None:
        with self._lock:
            self.lifecycle.consenting = False
            self.machine.note = words.NOTHING_STARTED

    def consent(self, password: str) -> str:
        """The worker agreed and the server re-confirmed their password: enrol from the next
        frames (whatever was open ends as interrupted). The outcome is also the page's note."""
        with self._lock:
            refused = self._page_refusal()
            if self.machine.mode is Mode.ENROLLING:
                refused = words.ENROL_RUNNING
            if refused:
                self.machine.note = refused
                return refused
        refused = enrolment_refusal(self.client, password)
        with self._lock:
            if refused:
                self.machine.note = refused
                return refused
            self.lifecycle.consenting = False
            self.machine.interrupt("the worker started an enrolment")
            self.machine.start_enrolment()
            return self.machine.note

    def decline(self) -> str:
        """The worker declined biometrics: any template goes, passwords from now on."""
        with self._lock:
            machine = self.machine
            face = machine.mode in (Mode.CHECKING, Mode.ENROLLING)
            if face and machine.interrupt("the worker declined face checks"):
                machine.schedule.at(machine.now_s)  # a password prompt at once
            self.lifecycle.decline()
            machine.note = words.DECLINED
            return machine.note

    def delete(self) -> str:
        """The worker deleted their template: checks stop; the server hears "not enrolled"."""
        with self._lock:
            self.lifecycle.consenting = False
            self.machine.interrupt("the worker deleted the template")
            had = self.lifecycle.erase()
            self.machine.note = words.DELETED if had else words.NOTHING_TO_DELETE
            if had:
                self.machine.not_enrolled()
            return self.machine.note

    def password(self, password: str) -> str:
        """Re-confirm a pending prompt with the server; the answer in words for the page."""
        with self._lock:
            prompt = self.machine.prompt
            if not self._enabled or prompt is None or prompt.done:
                return words.NOTHING_DUE
            if not password_may_travel(self.client.base):
                return words.INSECURE_WORDS
            prompt.in_flight += 1
        try:
            answer = server_says(self.client, password)
        finally:
            with self._lock:
                prompt.in_flight -= 1
        with self._lock:
            if prompt.done or prompt is not self.machine.prompt:
                return words.ALREADY_ENDED
            self.machine.note = self.machine.answered(prompt, answer)
            return self.machine.note

    def _page_refusal(self) -> str:
        if not self._enabled:
            return words.ENROL_OFF
        if not password_may_travel(self.client.base):
            return words.INSECURE_WORDS
        return ""

    def set_enabled(self, enabled: bool) -> None:
        """The page's view of the policy, for actions while no frame arrives (paused)."""
        with self._lock:
            if not enabled:
                self._switch_off(words.OFF)
            else:
                self._enabled = not self.machine.unavailable

    def view(self) -> PageView:
        with self._lock:
            status = self.lifecycle.status()
            return PageView(
                status.choice.value,
                status.enrolled,
                self.machine.mode.value,
                self.machine.note,
                dict(self.machine.outbox.last),
                self.lifecycle.consenting,
                self.machine.challenge_left_s(),
            )
