"""The camera session: the source and its frames, the room audio and the pipeline, opened,
fed and closed together by the agent's loop. Frames never leave this process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from deskwatch.agent.room_audio import RoomAudio, open_room_audio
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.config import Policy
from deskwatch.errors import DeskwatchError
from deskwatch.events.event import Event
from deskwatch.perception.observation import Observation
from deskwatch.pipeline import Pipeline
from deskwatch.rules.registry import AUDIO_RULES
from deskwatch.transport.uploader import Backoff

log = logging.getLogger(__name__)

CAMERA_RETRY = Backoff(base_s=1.0, cap_s=30.0)


class CameraSession:
    """One source at a time, with its pipeline and (while a rule listens) room audio.

    ``origin`` is the wall-clock time of source second 0 of the open source: events are
    stamped from it. ``realtime`` plays a file at its own speed, like a camera.
    """

    def __init__(
        self,
        source: str,
        *,
        realtime: bool,
        stop: threading.Event,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.spec, self.realtime, self.stop, self.clock = source, realtime, stop, clock
        self.is_file = not source.startswith("camera:") and "://" not in source
        self.source: FrameSource | None = None
        self.audio: RoomAudio | None = None  # open only while a rule that reads it is on
        self.pipeline: Pipeline | None = None
        self.origin = self.clock()
        self.passes = 0  # file sources: passes finished
        self.done = False  # file sources: every pass asked for is finished
        self._frames: Iterator[Frame] | None = None
        self._opened_at = 0.0
        self._attempt = 0
        self._retry_at = 0.0

    @property
    def is_open(self) -> bool:
        return self._frames is not None

    # --- the source -----------------------------------------------------------------------
    def retry_in(self) -> float:
        """Seconds until the camera may be tried again after a failure (0: now)."""
        return max(0.0, self._retry_at - time.monotonic())

    def open(self, policy: Policy) -> None:
        """Open the source at the policy's rate (SourceError if it cannot be opened)."""
        self.source = open_source(self.spec, policy.analysis.fps)
        self._frames = iter(self.source)
        self._opened_at, self._attempt = time.monotonic(), 0
        self.origin = self.clock()

    def failed(self) -> float:
        """The camera failed: the seconds until the next attempt (growing, with jitter)."""
        delay = CAMERA_RETRY.ceiling(self._attempt) * (0.5 + CAMERA_RETRY.delay(0) / 2)
        self._attempt += 1
        self._retry_at = time.monotonic() + delay
        return delay

    def pass_ended(self, repeat: int) -> bool:
        """A file source reached its end: True (and ``done``) once ``repeat`` passes are
        finished (0: it never is)."""
        self.passes += 1
        self.done = bool(repeat) and self.passes >= repeat
        return self.done

    def read(self) -> Frame:
        """The next frame, paced (StopIteration at the end, SourceError if it broke)."""
        assert self._frames is not None
        frame = next(self._frames)
        if self.realtime:
            ahead = self._opened_at + frame.ts - time.monotonic()
            if ahead > 0:
                self.stop.wait(ahead)
        return frame

    def read_for(self, seconds: float, interrupted: Callable[[], bool]) -> list[Frame] | None:
        """``seconds`` of frames (None if ``interrupted`` says so first)."""
        frames: list[Frame] = []
        while not frames or frames[-1].ts - frames[0].ts < seconds:
            if interrupted():
                return None
            frames.append(self.read())
        return frames

    def close(self) -> list[Event]:
        """Everything released: the pipeline's open events end (returned), source and
        audio closed."""
        final = self.end_pipeline()
        if self.source is not None:
            self.source.close()
        self.source, self._frames = None, None
        self.close_audio()
        return final

    # --- the pipeline ---------------------------------------------------------------------
    def start_pipeline(self, policy: Policy, *, low_confidence: bool) -> None:
        self.pipeline = Pipeline(policy, origin=self.origin, low_confidence=low_confidence)

    def rebuild(self, policy: Policy, *, low_confidence: bool) -> list[Event]:
        """New settings on a running camera: new detectors; rules whose settings did not
        change keep their state, so their open events go on with the same ids. Returns the
        events the other rules ended."""
        old = self.pipeline
        if old is None or not self.is_open:
            return self.end_pipeline()
        carried, ended = old.hand_over(policy)
        old.close()
        self.pipeline = Pipeline(
            policy, origin=self.origin, low_confidence=low_confidence, carried=carried
        )
        return ended

    def end_pipeline(self) -> list[Event]:
        """The pipeline's open events ended (returned) and its models closed."""
        if self.pipeline is None:
            return []
        final = self.pipeline.finish()
        self.pipeline.close()
        self.pipeline = None
        return final

    def detector_keys(self) -> list[str]:
        """The running pipeline's detectors (none when it is not running)."""
        return [d.key for d in self.pipeline.detectors] if self.pipeline else []

    def analyse(self, frame: Frame) -> tuple[Observation, list[Event]]:
        """The frame (and the room audio around it) through the pipeline."""
        assert self.pipeline is not None
        audio = self.audio.at(frame.ts) if self.audio is not None else None
        return self.pipeline.process(frame, audio)

    # --- room audio -----------------------------------------------------------------------
    def follow_audio(self, spec: str | None, policy: Policy, *, paused: bool) -> None:
        """Room audio open exactly while the camera is and a rule that reads it is on."""
        listening = any(policy.rules.of(r).enabled for r in AUDIO_RULES)
        if spec is None or not listening or paused:
            self.close_audio()
            return
        if self.audio is None:
            try:
                self.audio = open_room_audio(spec)
            except DeskwatchError as exc:  # the camera goes on; the audio rules get nothing
                log.warning("room audio not opened: %s", exc)

    def close_audio(self) -> None:
        if self.audio is not None:
            self.audio.close()
            self.audio = None
