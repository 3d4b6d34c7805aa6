"""The agent loop: source → pipeline → outbox, with pause, camera retries and the uploader,
heartbeat and local page running beside it. Frames never leave this process."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deskwatch.agent.config import AgentConfig
from deskwatch.agent.control import Control
from deskwatch.agent.heartbeat import HEARTBEAT_S, Heartbeat
from deskwatch.agent.local_page import LocalPage
from deskwatch.agent.outbox import DEFAULT_CAPACITY, Outbox
from deskwatch.agent.policy import PolicyKeeper
from deskwatch.agent.room_audio import RoomAudio, open_room_audio
from deskwatch.agent.snapshots import SnapshotTaker, snapshot_settings
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.checks.selfcheck import run_self_check
from deskwatch.errors import DeskwatchError, SourceError
from deskwatch.events.event import Event
from deskwatch.identity.hook import IdentityHook
from deskwatch.identity.store import owner_of
from deskwatch.perception.observation import Observation
from deskwatch.perception.registry import spec_of
from deskwatch.pipeline import Carried, Pipeline
from deskwatch.rules.registry import AUDIO_RULES
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.uploader import MAX_BATCH, Backoff, Uploader

log = logging.getLogger(__name__)

CAMERA_RETRY = Backoff(base_s=1.0, cap_s=30.0)
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


@dataclass
class AgentState:
    """What the worker's page shows; numbers and words only."""

    status: str = "online"  # until the camera is open and the pipeline runs
    source_note: str = ""
    detectors: dict[str, dict[str, str]] = field(default_factory=dict)
    frames: int = 0
    recent_events: deque[str] = field(default_factory=lambda: deque(maxlen=10))
    self_check: dict[str, object] = field(default_factory=dict)  # the last result
    open_types: set[str] = field(default_factory=set)


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
        self.uploader = Uploader(
            self.outbox,
            client,
            batch_size=options.batch_size,
            backoff=Backoff(cap_s=options.max_backoff_s),
        )
        self.heartbeat = Heartbeat(client, self.beat, self.policy, interval_s=options.heartbeat_s)
        self.snapshots = SnapshotTaker(client)  # off until the team turns stills on
        self.state = AgentState()
        owner = owner_of(config.device_id, config.agent_id)  # the template opens only here
        self.identity = IdentityHook(directory, client, owner)  # only if the policy enables it
        self.source: FrameSource | None = None
        self.audio: RoomAudio | None = None  # open only while a rule that reads it is on
        self.pipeline: Pipeline | None = None
        # Set after a failed pre-shift self-check: events then carry low_confidence=1.0.
        self.low_confidence = False
        self._check_pending = options.self_check
        self._origin = datetime.now(UTC)
        self._frames: Iterator[Frame] | None = None
        self._opened_at = 0.0
        self._camera_attempt = 0
        self._retry_at = 0.0
        self._passes = 0
        self._done = False
        self._is_file = not options.source.startswith("camera:") and "://" not in options.source

    # --- status -------------------------------------------------------------------------
    def beat(self) -> dict[str, object]:
        """The heartbeat body: the device API's Heartbeat, nothing more."""
        pause = self.control.state()
        pipeline = self.pipeline  # read once: the frame loop may replace it meanwhile
        running = pipeline is not None and not pause.paused
        keys = {d.key for d in pipeline.detectors} if pipeline is not None else set()
        enabled = [c.type for c in self.policy.current.policy.detectors.values() if c.enabled]
        paused_for = pause.paused_for_s()
        return {
            "status": "paused" if pause.paused else self.state.status,
            "sent_at": datetime.now(UTC).isoformat(),
            "paused_for_s": None if paused_for is None else round(paused_for, 1),
            "detectors": {name: running and name in keys for name in sorted(set(enabled))},
        }

    # --- main loop ----------------------------------------------------------------------
    def run(self) -> int:
        log.info("policy: %s", self.policy.refresh().note)
        self._apply_privacy()
        threads = [
            threading.Thread(target=self.uploader.run, args=(self.stop,), name="uploader"),
            threading.Thread(target=self.heartbeat.run, args=(self.stop,), name="heartbeat"),
            threading.Thread(target=self.snapshots.run, args=(self.stop,), name="snapshots"),
        ]
        for t in threads:
            t.daemon = True
            t.start()
        page = self._start_page()
        try:
            while not self.stop.is_set():
                self.tick()
        finally:
            self._end_pipeline()
            self._close_source()
            self.outbox.put(self.identity.close())  # an open check ends as interrupted
            self.snapshots.close()
            self.stop.set()
            self.uploader.wake.set()
            self.heartbeat.wake.set()
            self.snapshots.wake.set()
            for t in threads:
                t.join(timeout=15)
            if page is not None:
                page.close()
            self.outbox.close()
        return 0

    def _apply_privacy(self) -> None:
        """Evidence stills and the identity check follow the worker's settings: stills are
        off unless a category asks; consent withdrawn deletes the face template (only once
        the settings were fetched: the all-off state before then is nobody's decision)."""
        current = self.policy.current
        self.snapshots.configure(*snapshot_settings(current.privacy))
        self.identity.follow_privacy(current.privacy, from_server=current.known)

    def _start_page(self) -> LocalPage | None:
        if self.opts.page_port is None:
            return None
        try:
            page = LocalPage(self, self.opts.page_port).start()
        except OSError as exc:
            log.warning("local page not started (port %s: %s)", self.opts.page_port, exc)
            return None
        log.info("your page: %s", page.url)
        return page

    def tick(self) -> None:
        """One step: a pause check, then one frame (or one attempt to open the camera)."""
        if self.policy.changed.is_set():  # new settings: in force at once, paused or not
            self.policy.changed.clear()
            self._apply_privacy()
            self._rebuild_pipeline()
        if self.control.state().paused:
            self._paused()
            return
        if self._done:
            self._drain_or_wait()
            return
        if not self.policy.current.known:
            self._wait_for_settings()
            return
        if not self.policy.current.policy.watches_anything():
            self._nothing_on()
            return
        if self._frames is None:
            self._open()
            return
        if self._check_pending or self.control.take_check_request():
            self._self_check()
            return
        self._next_frame()

    def _paused(self) -> None:
        if self.source is not None or self.pipeline is not None:
            self._end_pipeline()
            self._close_source()
            self.snapshots.pause()  # no plain copy waits, and the redaction models close
            self._put_final(self.identity.pause())  # an open check ends as interrupted
            self.state.detectors = {}
            self.heartbeat.wake.set()
            log.info("paused: camera released, detectors stopped")
        self.stop.wait(PAUSE_POLL_S)

    def _wait_for_settings(self) -> None:
        """Fail closed: until the worker's privacy settings are known, nothing runs."""
        self._release("waiting for your privacy settings from the server")

    def _release(self, why: str) -> None:
        """Nothing may run: camera and detectors released; the agent reports only online."""
        if self.source is not None or self.pipeline is not None:
            self._end_pipeline()
            self._close_source()
        self.state.detectors = {}
        self.state.source_note = why
        self._set_status("online")  # running, but nothing is monitored
        self.stop.wait(PAUSE_POLL_S)

    def _nothing_on(self) -> None:
        """Every category is off for this worker: the camera stays closed."""
        self._release("every monitoring category is off for you: the camera stays off")

    def _open(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            self.stop.wait(min(PAUSE_POLL_S, self._retry_at - now))
            return
        policy = self.policy.current.policy
        try:
            self.source = open_source(self.opts.source, policy.analysis.fps)
            self._frames = iter(self.source)
        except SourceError as exc:
            self._camera_problem(str(exc))
            return
        self._opened_at, self._camera_attempt = time.monotonic(), 0
        self.state.status, self.state.source_note = self._present(), f"watching {self.source.name}"
        self._origin = datetime.now(UTC)
        self._new_pipeline()
        self._follow_audio()
        self.heartbeat.wake.set()

    def _new_pipeline(self, carried: Carried | None = None) -> None:
        policy = self.policy.current.policy
        self.pipeline = Pipeline(
            policy, origin=self._origin, low_confidence=self.low_confidence, carried=carried
        )

    def _rebuild_pipeline(self) -> None:
        """New settings on a running camera: new detectors; rules whose settings did not
        change keep their state, so their open events go on with the same ids."""
        old = self.pipeline
        if old is None or self._frames is None:
            self._end_pipeline()
            return
        carried, ended = old.hand_over(self.policy.current.policy)
        old.close()
        self.pipeline = None
        self._put_final(ended)
        self._new_pipeline(carried)
        self._follow_audio()
        self._track([])  # attendance switched on or off: the status says so at once
        self.heartbeat.wake.set()

    def _self_check(self) -> None:
        """Framing, light, focus and detector checks on the next few seconds of frames.

        One ``self_check`` event (numbers only) goes to the server; after a failed check the
        worker's events carry ``low_confidence=1.0`` for reviewers, until a check passes.
        """
        assert self._frames is not None
        self._check_pending = False
        frames: list[Frame] = []
        try:
            while not frames or frames[-1].ts - frames[0].ts < self.opts.check_seconds:
                if self.stop.is_set() or self.control.state().paused:
                    self._check_pending = True  # paused: the frames go now, the check later
                    return
                frames.append(next(self._frames))
                self._pace(frames[-1])
        except (StopIteration, SourceError) as exc:
            self._check_pending = True  # try again once the camera is back
            self._camera_problem(f"self-check interrupted: {exc or 'end of source'}")
            return
        result = run_self_check(frames)
        now = datetime.now(UTC)
        event = result.to_event().model_copy(update={"started_at": now, "ended_at": now})
        self.outbox.put([event])
        self.uploader.wake.set()
        self.state.self_check = result.to_dict()
        self.low_confidence = not result.passed
        self._end_pipeline()
        self._new_pipeline()
        log.info("self-check %s: %s", "passed" if result.passed else "failed", result.tips)

    def _camera_problem(self, why: str) -> None:
        self._end_pipeline()
        self._close_source()
        delay = CAMERA_RETRY.ceiling(self._camera_attempt) * (0.5 + CAMERA_RETRY.delay(0) / 2)
        self._camera_attempt += 1
        self._retry_at = time.monotonic() + delay
        if self.state.status != "camera_problem":
            self.heartbeat.wake.set()
        self.state.status = "camera_problem"
        self.state.source_note = f"camera problem: {why}; retrying in {delay:.0f} s"
        log.warning(self.state.source_note)

    def _next_frame(self) -> None:
        assert self._frames is not None and self.pipeline is not None
        try:
            frame = next(self._frames)
        except StopIteration:
            self._source_ended()
            return
        except SourceError as exc:
            self._camera_problem(str(exc))
            return
        self._pace(frame)
        audio = self.audio.at(frame.ts) if self.audio is not None else None
        obs, events = self.pipeline.process(frame, audio)
        identity = self.policy.current.policy.identity
        events += self.identity.on_frame(frame, events, identity, origin=self._origin)
        self._record(obs, events)
        if events:
            self.snapshots.consider(frame, events)

    def _pace(self, frame: Frame) -> None:
        """With ``realtime``, a file plays at its own speed, like a camera."""
        if self.opts.realtime:
            ahead = self._opened_at + frame.ts - time.monotonic()
            if ahead > 0:
                self.stop.wait(ahead)

    def _record(self, obs: Observation, events: list[Event]) -> None:
        self.state.frames += 1
        self.state.detectors = describe(obs, self.pipeline)
        if events:
            self.outbox.put(events)
            self.uploader.wake.set()
            self._track(events)

    def _track(self, events: list[Event]) -> None:
        for event in events:
            self.state.recent_events.append(event.model_dump_json())
            if event.is_open:
                self.state.open_types.add(event.type)
            else:
                self.state.open_types.discard(event.type)
        if "camera_obstructed" in self.state.open_types:
            self._set_status("camera_problem")
        elif "away" in self.state.open_types:
            self._set_status("away")
        else:
            self._set_status(self._present())

    def _present(self) -> str:
        """The status while no event says otherwise: at the desk where attendance is
        monitored; else only "online" (the server is never told presence it may not know)."""
        return "at_desk" if self.policy.current.policy.rules.of("away").enabled else "online"

    def _set_status(self, status: str) -> None:
        if status != self.state.status:
            self.state.status = status
            self.heartbeat.wake.set()

    def _source_ended(self) -> None:
        self._end_pipeline()
        self._close_source()
        if not self._is_file:
            self._camera_problem("the stream ended")
            return
        self._passes += 1
        if self.opts.repeat and self._passes >= self.opts.repeat:
            self._done = True
            self.state.source_note = f"finished {self.opts.source} ({self._passes} pass(es))"
            log.info(self.state.source_note)

    def _drain_or_wait(self) -> None:
        if self.opts.exit_when_done and len(self.outbox) == 0:
            self.stop.set()
            return
        self.stop.wait(DRAIN_POLL_S)

    def _end_pipeline(self) -> None:
        if self.pipeline is None:
            return
        final = self.pipeline.finish()
        self.pipeline.close()
        self.pipeline = None
        self._put_final(final)

    def _put_final(self, final: list[Event]) -> None:
        if final:
            self.outbox.put(final)
            self._track(final)
            self.uploader.wake.set()

    def _close_source(self) -> None:
        if self.source is not None:
            self.source.close()
        self.source, self._frames = None, None
        self._close_audio()

    def _follow_audio(self) -> None:
        """Room audio open exactly while the camera is and a rule that reads it is on."""
        spec, rules = self.opts.audio, self.policy.current.policy.rules
        listening = any(rules.of(r).enabled for r in AUDIO_RULES)
        if spec is None or not listening or self.control.state().paused:
            self._close_audio()
            return
        if self.audio is None:
            try:
                self.audio = open_room_audio(spec)
            except DeskwatchError as exc:  # the camera goes on; the audio rules get nothing
                log.warning("room audio not opened: %s", exc)

    def _close_audio(self) -> None:
        if self.audio is not None:
            self.audio.close()
            self.audio = None


def describe(obs: Observation, pipeline: Pipeline | None) -> dict[str, dict[str, str]]:
    """Each running detector's last value, in plain words."""
    keys = [d.key for d in pipeline.detectors] if pipeline else []
    out = {
        k: {
            "state": "on",
            "last": spec_of(k).describe(obs) or "no reading yet",
            "ran": str(k in obs.stages),
        }
        for k in keys
    }
    if obs.audio is not None:  # levels only: the sound itself is already gone
        a = obs.audio
        last = f"room at {a.floor_dbfs:.0f} dBFS, {a.speech_ratio:.0%} speech"
        out["room_audio"] = {"state": "on", "last": last, "ran": "True"}
    return out
