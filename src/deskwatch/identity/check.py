"""One identity check (or enrolment) over a few seconds of frames from the running loop.

Each frame goes through the face mesh (pose for liveness, a box for the face); a few
frames spread over the window also go through the dlib encoder, on the same face: the
face is followed from frame to frame by box overlap, and a second face in view stops the
check. The result is a typed ``IdentityResult`` that becomes one event with numbers only:
no descriptor, no picture.

A check first watches passively for ``window_s``. If it saw the worker's face (or a face
it could not compare yet) but no liveness cue, it does not fail yet: it becomes a
*challenge* (the page asks for a slight head turn or a blink) and keeps watching for up to
``challenge_s``, judging every window of ``window_s`` that ends at a later frame with the
same rules. A mismatch, a second face, a face that jumped and a frozen picture end the
check as soon as they are seen at or after the passive part; all timing is frame time.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Self

import cv2
import numpy as np
from numpy.typing import NDArray

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event, EventType, finite_evidence
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.encoder import Descriptor, FaceEncoder, FaceEncoderOptions, distance
from deskwatch.identity.liveness import FaceSample, Liveness, judge
from deskwatch.perception.detectors.face_mesh import (
    FaceMesh,
    FaceMeshOptions,
    eye_measures,
    head_angles,
)
from deskwatch.perception.observation import Box, HeadPose

if TYPE_CHECKING:
    from deskwatch.arrays import Image, Points

MIN_TRACK_IOU = 0.3  # the face's box in consecutive frames overlaps at least this much
LIVENESS_FAILED = "liveness_failed"
CAMERA_FROZEN = "camera_frozen"


class Outcome(enum.StrEnum):
    VERIFIED = "identity_verified"
    MISMATCH = "identity_mismatch"
    UNVERIFIED = "identity_unverified"


class Method(enum.StrEnum):
    FACE = "face"
    PASSWORD = "password"


class Problem(enum.StrEnum):
    """Why a frame (or a whole check) could not be used; ``reason_<value>`` in evidence."""

    NO_FACE = "no_face"
    DARK = "dark"
    TOO_FAR = "too_far"
    TURNED_AWAY = "turned_away"
    MULTIPLE_FACES = "multiple_faces"  # more than one face in view: nothing is compared
    FACE_CHANGED = "face_changed"  # the face jumped elsewhere: maybe someone else


DECISIVE = (Problem.MULTIPLE_FACES, Problem.FACE_CHANGED)  # one such frame: unverified


@dataclass(frozen=True)
class IdentityResult:
    """A check's verdict; ``to_event`` gives the only thing the server learns."""

    outcome: Outcome
    method: Method
    start_s: float
    end_s: float
    distance: float | None = None
    liveness: Liveness | None = None
    reasons: tuple[str, ...] = ()  # evidence flags, e.g. "reason_dark", "liveness_failed"
    max_distance: float = 0.55  # the threshold the distance was judged against
    challenge_s: float | None = None  # seconds the challenge ran (None: none was asked)

    def evidence(self) -> dict[str, float]:
        numbers = {f"method_{self.method.value}": 1.0}
        if self.distance is not None:
            numbers["distance"] = round(self.distance, 4)
        if self.liveness is not None:
            numbers["liveness"] = round(self.liveness.score, 3)
        if self.challenge_s is not None:
            numbers["challenge_s"] = round(self.challenge_s, 1)
        numbers.update(dict.fromkeys(self.reasons, 1.0))
        return numbers

    def confidence(self) -> float:
        """How clear the verdict is: 0.5 at the threshold, growing to 1 at a threshold's
        width from it on either side (a clear match or a clear stranger)."""
        if self.distance is None or self.outcome is Outcome.UNVERIFIED:
            return 1.0
        margin = abs(self.distance - self.max_distance) / self.max_distance
        return 0.5 + 0.5 * min(1.0, margin)

    def to_event(self) -> Event:
        kind: EventType = self.outcome.value
        return Event(
            type=kind,
            start_s=self.start_s,
            end_s=max(self.start_s, self.end_s),
            peak_confidence=round(self.confidence(), 3),
            evidence=finite_evidence(self.evidence(), digits=4),
        )


def face_box(landmarks: NDArray[np.float64]) -> Box:
    """The box around the mesh's landmarks."""
    x1, y1 = landmarks[:, :2].min(axis=0)
    x2, y2 = landmarks[:, :2].max(axis=0)
    return Box(float(x1), float(y1), float(x2), float(y2))


def pose_of(landmarks: NDArray[np.float64]) -> HeadPose:
    yaw, pitch, roll = head_angles(landmarks)
    eye_yaw, openness = eye_measures(landmarks[:, :2])
    return HeadPose(yaw, pitch, roll, eye_yaw, openness, 0.0)


def eye_width_px(landmarks: NDArray[np.float64]) -> float:
    """Both eyes' corner-to-corner width in pixels, averaged."""
    flat = landmarks[:, :2]
    return float(np.mean([np.linalg.norm(flat[a] - flat[b]) for a, b in ((33, 133), (263, 362))]))


def brightness(frame: Frame, box: Box) -> float:
    """Mean grey level inside the face box."""
    h, w = frame.height, frame.width
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(w, int(box.x2)), min(h, int(box.y2))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    return float(cv2.cvtColor(frame.image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY).mean())


@dataclass(frozen=True)
class Capture:
    """One descriptor and the head pose it was taken at."""

    pose: HeadPose
    descriptor: Descriptor


@dataclass
class FaceWindow:
    """Collects the face's poses and a few descriptors over ``config.window_s`` seconds (and,
    for a check, the challenge after it: see ``decide``)."""

    config: IdentityConfig
    mesh: FaceMesh
    encoder: FaceEncoder
    slots: int  # descriptors wanted, spread over the window
    start_s: float | None = None
    end_s: float = 0.0
    samples: list[FaceSample] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    problems: Counter[Problem] = field(default_factory=Counter)
    frozen: bool = False  # two frames were identical: the camera picture froze
    challenge_from_s: float | None = None  # frame time the challenge began (None: not asked)
    _best: Liveness | None = None  # the best window judged since the passive part ended
    _last_box: Box | None = None
    _last_thumb: Image | None = None

    @classmethod
    def create(cls, config: IdentityConfig, slots: int) -> Self:
        """A window with its models (two faces looked for: a second one stops it)."""
        encoder = FaceEncoder.create_from_options(FaceEncoderOptions())  # fails first if missing
        mesh = FaceMesh.create_from_options(FaceMeshOptions(max_faces=2))
        return cls(config, mesh, encoder, slots)

    @property
    def descriptors(self) -> list[Descriptor]:
        return [c.descriptor for c in self.captures]

    def fill(self, frames: Iterable[Frame]) -> None:
        """``add`` frames until the window is ``done`` (or the frames end)."""
        for frame in frames:
            self.add(frame)
            if self.done(frame.ts):
                return

    def add(self, frame: Frame) -> None:
        if self.start_s is None:
            self.start_s = frame.ts
        self.end_s = frame.ts
        self._watch_frozen(frame)
        face = self._main_face(frame)
        if face is not None:
            self._sample(frame, *face)
        self._judge_recent(frame.ts)

    def _sample(self, frame: Frame, landmarks: Points, box: Box) -> None:
        pose = pose_of(landmarks)
        self.samples.append(FaceSample(pose, eye_width_px(landmarks), frame.ts))
        problem = self._problem(frame, pose, box)
        if problem is not None:
            self.problems[problem] += 1
        elif self._wants_capture(frame.ts):
            descriptor = self.encoder.describe(frame.image, box, frame.ts)
            self.captures.append(Capture(pose, descriptor))

    def _judge_recent(self, ts: float) -> None:
        """From the end of the passive part on: judge the last ``window_s`` of samples (the
        same rules as the passive window) and keep the best."""
        if not self.done(ts):
            return
        recent = [s for s in self.samples if s.ts >= ts - self.config.window_s]
        alive = judge(recent, self.config)
        if self._best is None or alive.score > self._best.score:
            self._best = alive

    def liveness(self) -> Liveness:
        """The best liveness seen (a window shorter than ``window_s``: all of it); none at
        all once the picture froze."""
        alive = self._best if self._best is not None else judge(self.samples, self.config)
        return replace(alive, frozen=True, score=0.0) if self.frozen else alive

    def _watch_frozen(self, frame: Frame) -> None:
        thumb = frame.thumbnail()
        if self._last_thumb is not None and np.array_equal(thumb, self._last_thumb):
            self.frozen = True
        self._last_thumb = thumb

    def _main_face(self, frame: Frame) -> tuple[Points, Box] | None:
        """The one face in view, followed from the previous frame; None (and the problem
        counted) when there is none, more than one, or it jumped elsewhere."""
        found = [(lm, face_box(lm)) for lm in self.mesh.faces(frame.image, frame.ts)]
        if sum(box.width >= self.config.min_face_px for _, box in found) > 1:
            self.problems[Problem.MULTIPLE_FACES] += 1
            return None
        if not found:
            self.problems[Problem.NO_FACE] += 1
            return None
        landmarks, box = max(found, key=lambda face: face[1].width)
        if self._last_box is not None and box.iou(self._last_box) < MIN_TRACK_IOU:
            self.problems[Problem.FACE_CHANGED] += 1
        self._last_box = box
        return landmarks, box

    def _problem(self, frame: Frame, pose: HeadPose, box: Box) -> Problem | None:
        if box.width < self.config.min_face_px:
            return Problem.TOO_FAR
        if abs(pose.yaw_deg) > self.config.max_yaw_deg:
            return Problem.TURNED_AWAY
        if brightness(frame, box) < self.config.min_brightness:
            return Problem.DARK
        return None

    def _wants_capture(self, ts: float) -> bool:
        """One descriptor per equal share of the window (the first usable frame in it)."""
        assert self.start_s is not None
        share = self.config.window_s / self.slots
        slot = min(self.slots - 1, int((ts - self.start_s) / share))
        return len(self.captures) < self.slots and len(self.captures) <= slot

    def close(self) -> None:
        self.mesh.close()
        self.encoder.close()

    def done(self, ts: float) -> bool:
        return self.start_s is not None and ts - self.start_s >= self.config.window_s

    def main_problem(self) -> Problem:
        return self.problems.most_common(1)[0][0] if self.problems else Problem.NO_FACE

    def verdict(self, template: NDArray[np.float32]) -> IdentityResult:
        """Verified, mismatch, or unverified with the reason (no usable face, not live), on
        what was seen so far."""
        for decisive in DECISIVE:
            if self.problems[decisive]:
                return self._result(Outcome.UNVERIFIED, reasons=(f"reason_{decisive}",))
        if not self.captures:
            return self._result(Outcome.UNVERIFIED, reasons=(f"reason_{self.main_problem()}",))
        dist = float(np.median([distance(d, template) for d in self.descriptors]))
        alive = self.liveness()
        flags: tuple[str, ...] = () if alive.passed else (LIVENESS_FAILED,)
        flags += (CAMERA_FROZEN,) if alive.frozen else ()
        if dist > self.config.max_distance:  # someone else, live or not
            return self._result(Outcome.MISMATCH, dist, alive, flags)
        if not alive.passed:  # the worker's face, but maybe a photo or a frozen frame
            return self._result(Outcome.UNVERIFIED, dist, alive, flags)
        return self._result(Outcome.VERIFIED, dist, alive)

    def decide(self, template: NDArray[np.float32], ts: float) -> IdentityResult | None:
        """The check's result once it is clear, else None: during the passive part, and
        during the challenge while the worker's face (or one not compared yet) shows no cue."""
        if not self.done(ts):
            return None
        result = self.verdict(template)
        if not self._open_question(result):
            return result
        if self.challenge_from_s is None:
            if self.config.challenge_s <= 0:
                return result
            self.challenge_from_s = ts
        return result if ts - self.challenge_from_s >= self.config.challenge_s else None

    def _open_question(self, result: IdentityResult) -> bool:
        """Unverified for want of a cue or of a comparable face, nothing decisive seen."""
        if result.outcome is not Outcome.UNVERIFIED or self.frozen:
            return False
        if self.captures:
            return result.reasons == (LIVENESS_FAILED,)
        return bool(self.samples) and not any(self.problems[p] for p in DECISIVE)

    def _result(
        self,
        outcome: Outcome,
        dist: float | None = None,
        alive: Liveness | None = None,
        reasons: tuple[str, ...] = (),
    ) -> IdentityResult:
        start = self.start_s if self.start_s is not None else 0.0
        asked = self.challenge_from_s
        return IdentityResult(
            outcome,
            Method.FACE,
            start,
            self.end_s,
            dist,
            alive,
            reasons,
            self.config.max_distance,
            None if asked is None else self.end_s - asked,
        )


def check_window(config: IdentityConfig) -> FaceWindow:
    """A check's window with its models."""
    return FaceWindow.create(config, config.descriptor_frames)
