"""The agent loop: source → pipeline → outbox, with pause, camera retries and the uploader,
heartbeat, stills and local page running beside it. Frames never leave this process.

The runner owns the threads and the tick; the camera session (``session``) owns the source,
audio and pipeline; the status (``status``) says what the agent is doing. Each tick
publishes a frozen view of the loop's state, from which ``page_state()`` composes the
worker's page; the page sends commands through ``command()``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from deskwatch.agent import page_state
from deskwatch.agent.config import AgentConfig
from deskwatch.agent.control import Control
from deskwatch.agent.heartbeat import HEARTBEAT_S, Heartbeat, heartbeat_body
from deskwatch.agent.local_page import LocalPage, start_page
from deskwatch.agent.outbox import DEFAULT_CAPACITY, Outbox
from deskwatch.agent.policy import PolicyKeeper
from deskwatch.agent.precheck import PreShiftCheck, check_event
from deskwatch.agent.session import CameraSession
from deskwatch.agent.snapshots import SnapshotTaker, snapshot_settings
from deskwatch.agent.status import Status, describe
from deskwatch.agent.workers import Worker, Workers
from deskwatch.errors import SourceError
from deskwatch.events.event import Event
from deskwatch.identity import page as identity_page
from deskwatch.identity.hook import IdentityHook
from deskwatch.identity.store import owner_of
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.uploader import MAX_BATCH, Backoff, Uploader

log = logging.getLogger(__name__)

PAUSE_POLL_S = 0.2
DRAIN_POLL_S = 0.1


@dataclass
class RunOptions:
    source: str
    rate: float | None = None
    audio: str | None = None  # room audio: "mic"/"mic:N", or a file played with the video
    realtime: bool = False
    repeat: int = 1  # file sources: passes over the file (0: forever)
    exit_when_done: bool = False  # file sources: exit once analysed and delivered
    batch_size: int = MAX_BATCH
    max_backoff_s: float = 60.0
    heartbeat_s: float = HEARTBEAT_S
    capacity: int = DEFAULT_CAPACITY
    page_port: int | None = 8765
    self_check: bool = False  # run the pre-shift self-check when the camera first opens
    check_seconds: float = 5.0


class AgentRunner:
    """Owns the threads; ``run()`` returns an exit code."""

    def __init__(
        self, config: AgentConfig, directory: Path, options: RunOptions, client: DeviceClient
    ) -> None:
        self.config, self.dir, self.opts, self.client = config, directory, options, client
        self.stop = threading.Event()
        self.control = Control(directory)
        self.outbox = Outbox(directory / "outbox.db", options.capacity)
        self.policy = PolicyKeeper(client, directory, options.rate, audio=options.audio is not None)
        backoff, batch = Backoff(cap_s=options.max_backoff_s), options.batch_size
        self.uploader = Uploader(self.outbox, client, batch_size=batch, backoff=backoff)
        self.heartbeat = Heartbeat(client, self.beat, self.policy, interval_s=options.heartbeat_s)
        self.snapshots = SnapshotTaker(client)  # off until the team turns stills on
        owner = owner_of(config.device_id, config.agent_id)  # the template opens only here
        self.identity = IdentityHook(directory, client, owner)  # only if the policy enables it
        self.session = CameraSession(
            options.source, realtime=options.realtime, stop=self.stop, clock=client.clock.local
        )
        self.state = Status()
        self._view = self.state.view()  # what the page reads; replaced whole each tick
        self.check = PreShiftCheck(at_start=options.self_check, seconds=options.check_seconds)

    def beat(self) -> dict[str, object]:
        """The heartbeat body (what the loop's status and the pipeline say now)."""
        pause, policy = self.control.state(), self.policy.current.policy
        pipeline, clock = self.session.pipeline, self.client.clock
        return heartbeat_body(pause, self.state.status, pipeline, policy, clock)

    def page_state(self) -> page_state.PageState:
        """The worker's page, from the loop's last view and its parts' state now."""
        current, pause = self.policy.current, self.control.state()
        enabled = current.policy.identity.enabled
        identity = identity_page.snapshot(self.identity, enabled, paused=pause.paused)
        parts = page_state.Parts(
            loop=self._view,
            pause=pause,
            current=current,
            outbox=self.outbox.level(),
            uploads=self.uploader.stats,
            last_sent=dict(self.client.last_sent),
            stills=self.snapshots.page_state(),
            identity=identity,
            audio_spec=self.opts.audio,
            audio_open=self.session.audio is not None,
            server_url=self.config.server_url,
            clock=self.client.clock.problem(),
        )
        return page_state.compose(parts)

    def command(self, action: str, form: dict[str, list[str]]) -> None:
        """A page action: pause, resume, a self-check, or an identity action."""
        c = self.control
        controls = {"/check": c.request_check, "/pause": c.pause, "/resume": c.resume}
        if action in identity_page.ACTIONS:
            enabled = self.policy.current.policy.identity.enabled
            identity_page.act(self.identity, action, form, enabled)
        elif action in controls:
            controls[action]()
        self.heartbeat.wake.set()

    def run(self) -> int:
        log.info("policy: %s", self.policy.refresh().note)
        self._apply_privacy()
        parts: dict[str, Worker] = {"uploader": self.uploader, "heartbeat": self.heartbeat}
        workers = Workers(self.stop, {**parts, "snapshots": self.snapshots}).start()
        page = start_page(self, self.opts.page_port)
        try:
            while not self.stop.is_set():
                self.tick()
        finally:
            self._shut_down(workers, page)
        return 0

    def _shut_down(self, workers: Workers, page: LocalPage | None) -> None:
        self._put_final(self.session.close())
        self.outbox.put(self.identity.close())  # an open check ends as interrupted
        self.snapshots.close()
        workers.stop_all()
        if page is not None:
            page.close()
        self.outbox.close()

    def _apply_privacy(self) -> None:
        """Evidence stills and the identity check follow the worker's settings: stills are
        off unless a category asks; consent withdrawn deletes the face template (only once
        the settings were fetched: the all-off state before then is nobody's decision)."""
        current = self.policy.current
        self.snapshots.configure(*snapshot_settings(current.privacy))
        self.identity.follow_privacy(current.privacy, from_server=current.known)

    def tick(self) -> None:
        """One step: new settings, a pause check, then one frame (or one attempt to open the
        camera); the page's view is published after it."""
        self._step()
        self._view = self.state.view()

    def _step(self) -> None:
        if self.policy.changed.is_set():  # new settings: in force at once, paused or not
            self.policy.changed.clear()
            self._apply_privacy()
            self._rebuild_pipeline()
        current = self.policy.current
        if self.control.state().paused:
            self._paused()
        elif self.session.done:
            self._drain_or_wait()
        elif not current.known:  # fail closed: until the settings are known, nothing runs
            self._release("waiting for your privacy settings from the server")
        elif not current.policy.watches_anything():
            self._release("every monitoring category is off for you: the camera stays off")
        elif not self.session.is_open:
            self._open()
        elif self.check.due(self.control):
            self._self_check()
        else:
            self._next_frame()

    def _paused(self) -> None:
        session = self.session
        if session.source is not None or session.pipeline is not None:
            self._put_final(session.close())
            self.snapshots.pause()  # no plain copy waits, and the redaction models close
            self._put_final(self.identity.pause())  # an open check ends as interrupted
            self.state.detectors = {}
            self.heartbeat.wake.set()
            log.info("paused: camera released, detectors stopped")
        self.stop.wait(PAUSE_POLL_S)

    def _release(self, why: str) -> None:
        """Nothing may run: camera and detectors released; the agent reports only online."""
        self._put_final(self.session.close())
        self.state.detectors = {}
        self.state.source_note = why
        self._set_status("online")  # running, but nothing is monitored
        self.stop.wait(PAUSE_POLL_S)

    def _open(self) -> None:
        wait = self.session.retry_in()
        if wait > 0:
            self.stop.wait(min(PAUSE_POLL_S, wait))
            return
        policy = self.policy.current.policy
        try:
            self.session.open(policy)
        except SourceError as exc:
            self._camera_problem(str(exc))
            return
        assert self.session.source is not None
        self.state.status = self._present()
        self.state.source_note = f"watching {self.session.source.name}"
        self.session.start_pipeline(policy, low_confidence=self.check.low_confidence)
        self._follow_audio()
        self.heartbeat.wake.set()

    def _rebuild_pipeline(self) -> None:
        """New settings on a running camera (see ``CameraSession.rebuild``)."""
        current = self.policy.current.policy
        self._put_final(self.session.rebuild(current, low_confidence=self.check.low_confidence))
        if self.session.pipeline is None:
            return
        self._follow_audio()
        self._track([])  # attendance switched on or off: the status says so at once
        self.heartbeat.wake.set()

    def _self_check(self) -> None:
        """Framing, light, focus and detector checks on the next few seconds of frames (see
        ``PreShiftCheck``); the pipeline restarts with the result's confidence."""
        try:
            result = self.check.run(
                self.session, lambda: self.stop.is_set() or self.control.state().paused
            )
        except (StopIteration, SourceError) as exc:
            self._camera_problem(f"self-check interrupted: {exc or 'end of source'}")
            return
        if result is None:
            return  # paused: the frames go now, the check later
        self.outbox.put([check_event(result)])
        self.uploader.wake.set()
        self.state.self_check = result.to_dict()
        self._put_final(self.session.end_pipeline())
        self.session.start_pipeline(
            self.policy.current.policy, low_confidence=self.check.low_confidence
        )
        log.info("self-check %s: %s", "passed" if result.passed else "failed", result.tips)

    def _camera_problem(self, why: str) -> None:
        self._put_final(self.session.close())
        delay = self.session.failed()
        self._set_status("camera_problem")
        self.state.source_note = f"camera problem: {why}; retrying in {delay:.0f} s"
        log.warning(self.state.source_note)

    def _next_frame(self) -> None:
        try:
            frame = self.session.read()
        except StopIteration:
            self._source_ended()
            return
        except SourceError as exc:
            self._camera_problem(str(exc))
            return
        obs, events = self.session.analyse(frame)
        identity = self.policy.current.policy.identity
        events += self.identity.on_frame(frame, events, identity, origin=self.session.origin)
        self.state.frames += 1
        self.state.detectors = describe(obs, self.session.detector_keys())
        if events:
            self._put_final(events)
            self.snapshots.consider(frame, events)

    def _track(self, events: list[Event]) -> None:
        if self.state.track(events, self._present()):
            self.heartbeat.wake.set()

    def _present(self) -> str:
        """The status no event overrides: "at_desk" if attendance is monitored, else "online"."""
        return "at_desk" if self.policy.current.policy.rules.of("away").enabled else "online"

    def _set_status(self, status: str) -> None:
        if self.state.set(status):
            self.heartbeat.wake.set()

    def _source_ended(self) -> None:
        self._put_final(self.session.close())
        if not self.session.is_file:
            self._camera_problem("the stream ended")
            return
        if self.session.pass_ended(self.opts.repeat):
            self.state.source_note = f"finished {self.opts.source} ({self.session.passes} pass(es))"
            log.info(self.state.source_note)

    def _drain_or_wait(self) -> None:
        if self.opts.exit_when_done and len(self.outbox) == 0:
            self.stop.set()
            return
        self.stop.wait(DRAIN_POLL_S)

    def _put_final(self, events: list[Event]) -> None:
        """Events to send (the outbox keeps them), noted in the status."""
        if events:
            self.outbox.put(events)
            self._track(events)
            self.uploader.wake.set()

    def _follow_audio(self) -> None:
        paused = self.control.state().paused
        self.session.follow_audio(self.opts.audio, self.policy.current.policy, paused=paused)
