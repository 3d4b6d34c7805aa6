"""One identity check (or enrolment) over a few seconds of frames from the running loop.

Each frame goes through the face mesh (pose for liveness, a box for the face); a few
frames spread over the window also go through the dlib encoder. The result is a typed
``IdentityResult`` that becomes one event with numbers only: no descriptor, no picture.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event, EventType
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.encoder import Descriptor, FaceEncoder, distance
from deskwatch.identity.liveness import Liveness, judge
from deskwatch.perception.face_mesh import FaceMesh, eye_measures, head_angles
from deskwatch.perception.observation import Box, HeadPose


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

    def evidence(self) -> dict[str, float]:
        numbers = {f"method_{self.method.value}": 1.0}
        if self.distance is not None:
            numbers["distance"] = round(self.distance, 4)
        if self.liveness is not None:
            numbers["liveness"] = round(self.liveness.score, 3)
        numbers.update(dict.fromkeys(self.reasons, 1.0))
        return numbers

    def to_event(self) -> Event:
        kind: EventType = self.outcome.value
        confidence = 1.0
        if self.distance is not None and self.outcome is not Outcome.UNVERIFIED:
            confidence = min(1.0, max(0.0, abs(1.0 - self.distance)))
        return Event(
            type=kind,
            start_s=self.start_s,
            end_s=max(self.start_s, self.end_s),
            peak_confidence=round(confidence, 3),
            evidence=self.evidence(),
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


def brightness(frame: Frame, box: Box) -> float:
    """Mean grey level inside the face box."""
    h, w = frame.height, frame.width
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(w, int(box.x2)), min(h, int(box.y2))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    return float(cv2.cvtColor(frame.image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY).mean())


@dataclass
class FaceWindow:
    """Collects poses and a few descriptors over ``config.window_s`` seconds of frames."""

    config: IdentityConfig
    mesh: FaceMesh
    encoder: FaceEncoder
    slots: int  # descriptors wanted, spread over the window
    start_s: float | None = None
    end_s: float = 0.0
    poses: list[HeadPose] = field(default_factory=list)
    descriptors: list[Descriptor] = field(default_factory=list)
    problems: Counter[Problem] = field(default_factory=Counter)

    def add(self, frame: Frame) -> None:
        if self.start_s is None:
            self.start_s = frame.ts
        self.end_s = frame.ts
        landmarks = self.mesh.landmarks(frame.image, frame.ts)
        if landmarks is None:
            self.problems[Problem.NO_FACE] += 1
            return
        pose, box = pose_of(landmarks), face_box(landmarks)
        self.poses.append(pose)
        problem = self._problem(frame, pose, box)
        if problem is not None:
            self.problems[problem] += 1
        elif self._slot_due(frame.ts):
            self.descriptors.append(self.encoder.describe(frame.image, box, frame.ts))

    def _problem(self, frame: Frame, pose: HeadPose, box: Box) -> Problem | None:
        if box.width < self.config.min_face_px:
            return Problem.TOO_FAR
        if abs(pose.yaw_deg) > self.config.max_yaw_deg:
            return Problem.TURNED_AWAY
        if brightness(frame, box) < self.config.min_brightness:
            return Problem.DARK
        return None

    def _slot_due(self, ts: float) -> bool:
        """One descriptor per equal share of the window (the first usable frame in it)."""
        assert self.start_s is not None
        share = self.config.window_s / self.slots
        slot = min(self.slots - 1, int((ts - self.start_s) / share))
        return len(self.descriptors) < self.slots and len(self.descriptors) <= slot

    def close(self) -> None:
        self.mesh.close()
        self.encoder.close()

    def done(self, ts: float) -> bool:
        return self.start_s is not None and ts - self.start_s >= self.config.window_s

    def main_problem(self) -> Problem:
        return self.problems.most_common(1)[0][0] if self.problems else Problem.NO_FACE

    def verdict(self, template: NDArray[np.float32]) -> IdentityResult:
        """Verified, mismatch, or unverified with the reason (no usable face, not live)."""
        if not self.descriptors:
            return self._result(Outcome.UNVERIFIED, reasons=(f"reason_{self.main_problem()}",))
        dist = float(np.median([distance(d, template) for d in self.descriptors]))
        alive = judge(self.poses, self.config)
        flags = () if alive.passed else ("liveness_failed",)
        if dist > self.config.max_distance:  # someone else, live or not
            return self._result(Outcome.MISMATCH, dist, alive, flags)
        if not alive.passed:  # the worker's face, but maybe a photo or a frozen frame
            return self._result(Outcome.UNVERIFIED, dist, alive, flags)
        return self._result(Outcome.VERIFIED, dist, alive)

    def _result(
        self,
        outcome: Outcome,
        dist: float | None = None,
        alive: Liveness | None = None,
        reasons: tuple[str, ...] = (),
    ) -> IdentityResult:
        start = self.start_s if self.start_s is not None else 0.0
        return IdentityResult(outcome, Method.FACE, start, self.end_s, dist, alive, reasons)
