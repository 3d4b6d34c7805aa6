"""What perception knows about one analysed frame: numbers only, never pixels."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from deskwatch.perception.detections import Detections
from deskwatch.perception.stage import Stage


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in pixels."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return max(0.0, self.x2 - self.x1)

    @property
    def height(self) -> float:
        return max(0.0, self.y2 - self.y1)

    @property
    def area(self) -> float:
        return self.width * self.height

    def intersection(self, other: Box) -> float:
        """The area both boxes cover."""
        w = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        h = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        return w * h

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when both are empty)."""
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    @property
    def cx(self) -> float:
        return (self.x1 + self.x2) / 2

    @property
    def cy(self) -> float:
        return (self.y1 + self.y2) / 2

    def expand(self, fx: float, fy: float) -> Box:
        """A box grown by ``fx`` widths and ``fy`` heights on every side."""
        dx, dy = self.width * fx, self.height * fy
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)


@dataclass(frozen=True, slots=True)
class Motion:
    """Share of the picture that changed since the last analysed frame (0..1)."""

    fraction: float
    near_face: float = 0.0


# Why the camera cannot be trusted, in plain words; ``CameraHealth.causes`` are these keys.
CAMERA_CAUSES: dict[str, str] = {
    "covered": "covered",
    "dark": "too dark",
    "uniform": "blank picture",
    "defocused": "out of focus",
    "moved": "turned or moved",
    "frozen": "frozen picture",
    "looping": "repeating picture",
}


@dataclass(frozen=True, slots=True)
class CameraHealth:
    """Frame statistics that tell whether the camera can see anything.

    ``dark``, ``uniform``, ``blurry`` and ``frozen`` are absolute; ``covered``,
    ``defocused`` and ``moved`` compare with this session's baseline (``baseline``: one
    has been learnt), ``looping`` with the recent frames.
    """

    brightness: float  # mean grey level, 0..255
    contrast: float  # grey-level standard deviation
    sharpness: float  # variance of the Laplacian
    dark: bool
    uniform: bool
    blurry: bool
    frozen: bool
    covered: bool = False
    defocused: bool = False
    moved: bool = False
    looping: bool = False
    covered_share: float = 0.0  # share of the baseline's bright cells now dark and flat
    sharpness_ratio: float = 1.0  # sharpness / the baseline's, where the scene matches
    layout_match: float = 1.0  # share of the baseline's scene still in place
    brightness_ratio: float = 1.0  # mean grey level / the baseline's
    loop_period_s: float = 0.0  # how far back the repeated frame was
    baseline: bool = False

    @property
    def causes(self) -> tuple[str, ...]:
        """The flags that are up, as ``CAMERA_CAUSES`` keys."""
        return tuple(c for c in CAMERA_CAUSES if getattr(self, c))

    @property
    def obstructed(self) -> bool:
        """The camera cannot be trusted to show the desk: any cause is up."""
        return bool(self.causes)


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Head orientation of the main face and a few geometric face measures."""

    yaw_deg: float  # + = turned to the image's right
    pitch_deg: float  # + = looking down
    roll_deg: float
    eye_yaw_deg: float  # gaze of the eyes relative to the head, from the irises
    eye_openness: float  # eyelid gap / eye width, both eyes averaged
    mouth_opening: float  # lip gap / mouth width

    @property
    def gaze_yaw_deg(self) -> float:
        return self.yaw_deg + self.eye_yaw_deg


@dataclass(frozen=True, slots=True)
class HandCues:
    """Where hands are relative to the main face; each cue is a confidence 0..1."""

    count: int
    at_ear: float = 0.0
    at_mouth: float = 0.0
    in_front: float = 0.0  # raised in front of the chest
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectConcepts:
    """Object-detector output mapped to the concepts the rules use, each a confidence 0..1.

    ``phone`` is any phone seen (one lying on the desk too); ``phone_held`` only a phone in
    or near a hand or at the face, the one the phone rule reads.
    """

    detections: Detections
    phone: float = 0.0
    phone_held: float = 0.0
    drink: float = 0.0
    food: float = 0.0
    paper: float = 0.0
    persons: int = 0


@dataclass(frozen=True, slots=True)
class AudioObservation:
    """Room audio over one analysed stretch (about a second): levels and a ratio, no sound.

    ``level_dbfs`` is the RMS level of the whole stretch, ``floor_dbfs`` the level of its
    quietest tenth (the steady background under any speech), ``speech_ratio`` the share of
    30 ms frames the voice-activity detector marked as speech.
    """

    ts: float  # source seconds at the start of the stretch
    duration_s: float
    level_dbfs: float
    floor_dbfs: float
    speech_ratio: float


@dataclass(frozen=True, slots=True)
class Cues:
    """Fused evidence for the behaviour rules, each with its own confidence."""

    phone: float = 0.0
    phone_object: float = 0.0
    phone_posture: float = 0.0
    eating: float = 0.0
    eating_object: float = 0.0
    eating_posture: float = 0.0


@dataclass(slots=True)
class Observation:
    """Everything perception produced for one analysed frame.

    Stages that the gate skipped keep the previous frame's value (their names are then
    absent from ``stages``); values that no longer apply (no face) are cleared.
    """

    ts: float
    frame_index: int
    width: int
    height: int
    motion: Motion = field(default_factory=lambda: Motion(0.0))
    camera: CameraHealth | None = None
    faces: Detections = field(default_factory=Detections)
    head: HeadPose | None = None
    hands: HandCues | None = None
    objects: ObjectConcepts | None = None
    cues: Cues = field(default_factory=Cues)
    audio: AudioObservation | None = None
    stages: list[Stage] = field(default_factory=list)

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def main_face(self) -> Box | None:
        i = self.faces.largest()
        return None if i is None else Box(*(float(v) for v in self.faces.xyxy[i]))

    @property
    def person_count(self) -> int:
        objects = self.objects.persons if self.objects else 0
        return max(self.face_count, objects)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with rounded numbers."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Detections):
        return [
            {"label": lab, "confidence": round(float(c), 3), "box": [round(float(v), 1) for v in b]}
            for lab, c, b in zip(value.labels, value.confidence, value.xyxy, strict=True)
        ]
    if isinstance(value, float | np.floating):
        return round(float(value), 3)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    return value
