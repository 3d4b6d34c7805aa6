"""The edge pipeline: frame -> gate -> perception -> fusion -> rules -> events."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Self

import cv2

from deskwatch.capture.frame import Frame
from deskwatch.config import Policy
from deskwatch.events.event import Event
from deskwatch.gating.gate import Gate
from deskwatch.perception import registry
from deskwatch.perception.base import Detector
from deskwatch.perception.fusion import fuse
from deskwatch.perception.observation import AudioObservation, Observation
from deskwatch.perception.quiet import native_stderr_silenced
from deskwatch.perception.registry import Carry, DetectorSpec
from deskwatch.perception.stage import Stage
from deskwatch.rules.base import Rule
from deskwatch.rules.registry import build_rules

# Evidence key on events recorded after a failed self-check.
LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True)
class Carried:
    """Rules handed from one pipeline to the next (see ``Pipeline.hand_over``), by event
    type, with the frame time the old pipeline reached."""

    rules: dict[str, Rule]
    last_ts: float | None


@dataclass
class StageStats:
    """CPU and wall time spent in one stage, over ``calls`` runs."""

    calls: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0


def build_detectors(policy: Policy, disabled: Iterable[str] = ()) -> list[Detector]:
    """The policy's enabled detectors, minus ``disabled`` (paused or objected to).

    A disabled detector is never constructed, so no frame can reach it.
    """
    off = set(disabled)
    configs = {c.type: c for c in policy.detectors.values() if c.enabled and c.type not in off}
    return [registry.create(configs[s]) for s in registry.stage_order() if s in configs]


class Pipeline:
    """Runs the gated detectors over frames and feeds the rules, in frame time."""

    def __init__(
        self,
        policy: Policy,
        *,
        origin: datetime | None = None,
        detectors: list[Detector] | None = None,
        low_confidence: bool = False,
        carried: Carried | None = None,
    ) -> None:
        self.policy = policy
        # Set after a failed self-check: every event then says reviewers should doubt it.
        self.low_confidence = low_confidence
        # Small per-frame image operations cost more CPU in thread hand-offs than they save.
        cv2.setNumThreads(1)
        with native_stderr_silenced():
            self.detectors = build_detectors(policy) if detectors is None else detectors
        self._specs = [registry.spec_of(d.key) for d in self.detectors]
        self.rules: list[Rule] = build_rules(policy.rules, origin)
        self.gate = Gate(policy.analysis)
        self.stats: dict[str, StageStats] = {}
        self._prev: Observation | None = None
        self._last_ts: float | None = None
        if carried is not None:  # the same source goes on: its rules keep their state
            self.rules = [carried.rules.get(r.event_type, r) for r in self.rules]
            self._last_ts = carried.last_ts

    def process(
        self, frame: Frame, audio: AudioObservation | None = None
    ) -> tuple[Observation, list[Event]]:
        """Analyse one frame (and the room audio around it); frames come in increasing time."""
        if self._last_ts is not None and frame.ts <= self._last_ts:
            raise ValueError(f"frame time {frame.ts} is not after {self._last_ts}")
        self._last_ts = frame.ts
        obs = self.observe(frame, audio)
        events = [e for rule in self.rules for e in rule.update(obs, frame.ts)]
        return obs, self._marked(events)

    def observe(self, frame: Frame, audio: AudioObservation | None = None) -> Observation:
        """Perception and fusion only."""
        prev = self._prev
        obs = Observation(frame.ts, frame.index, frame.width, frame.height, audio=audio)
        with self._timed("gate"):
            obs.motion = self.gate.measure(frame, prev)
        for det, spec in zip(self.detectors, self._specs, strict=True):
            if self.gate.wants(spec, obs, prev):
                self._run(det, frame, obs)
        _carry_over(obs, prev, registry.detectors().values())
        obs.cues = fuse(obs)
        self._prev = obs
        return obs

    def _run(self, det: Detector, frame: Frame, obs: Observation) -> None:
        if det.key in self.stats:
            with self._timed(det.key):
                det.detect(frame, obs)
        else:  # models log their start-up on the first inference
            with native_stderr_silenced(), self._timed(det.key):
                det.detect(frame, obs)
        obs.stages.append(Stage(det.key))

    def finish(self) -> list[Event]:
        """End every open event at the last frame's time."""
        ts = self._last_ts or 0.0
        return self._marked([e for rule in self.rules for e in rule.flush(ts)])

    def hand_over(self, policy: Policy) -> tuple[Carried, list[Event]]:
        """Before this pipeline is replaced by one built with ``policy`` on the same source:
        the rules whose settings are the same there carry over (an open event stays open,
        with its id); every other rule ends its open event now, as ``finish`` would."""
        ts = self._last_ts or 0.0
        kept: dict[str, Rule] = {}
        ended: list[Event] = []
        for rule in self.rules:
            after = policy.rules.of(rule.event_type)
            if after.enabled and after == self.policy.rules.of(rule.event_type):
                kept[rule.event_type] = rule
            else:
                ended += rule.flush(ts)
        self.rules = [r for r in self.rules if r.event_type not in kept]
        return Carried(kept, self._last_ts), self._marked(ended)

    def _marked(self, events: list[Event]) -> list[Event]:
        """With ``low_confidence``, events carry ``low_confidence=1.0`` in their evidence."""
        if not self.low_confidence:
            return events
        return [
            e.model_copy(update={"evidence": {**e.evidence, LOW_CONFIDENCE: 1.0}}) for e in events
        ]

    def _timed(self, stage: str) -> _Timer:
        return _Timer(self.stats.setdefault(stage, StageStats()))

    def close(self) -> None:
        for det in self.detectors:
            det.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _carry_over(obs: Observation, prev: Observation | None, specs: Iterable[DetectorSpec]) -> None:
    """Skipped stages keep the last value while it still applies (each detector's ``carry``);
    a value that needs a face is cleared when none is in view."""
    if prev is None:
        return
    for spec in specs:
        if spec.carry is Carry.WITH_FACE and obs.face_count == 0:
            setattr(obs, spec.output, None)
        elif spec.carry is not Carry.NONE and spec.stage not in obs.stages:
            setattr(obs, spec.output, getattr(prev, spec.output))


class _Timer:
    def __init__(self, stats: StageStats) -> None:
        self._stats = stats
        self._cpu = self._wall = 0.0

    def __enter__(self) -> None:
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self._stats.calls += 1
        self._stats.cpu_s += time.process_time() - self._cpu
        self._stats.wall_s += time.perf_counter() - self._wall
