"""Pre-shift self-check: framing, light on the face, focus, and whether detection works.

Runs the real face detector and face mesh over a few seconds of frames and measures, in
numbers only: face size and position in the picture, brightness and contrast on the face
against the background (backlight), sharpness of the face, how steadily the face is found
and how much the landmarks jitter. Failing checks come with a tip in plain words. It is
also a fairness safeguard: a worker whom the detector finds poorly learns it before the
shift, and the agent marks that shift's events as low-confidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import cv2
import numpy as np

from deskwatch.arrays import Image, Points, as_image
from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event, finite_evidence
from deskwatch.perception.detectors.face import FaceDetector, FaceDetectorOptions
from deskwatch.perception.detectors.face_mesh import FaceMesh, FaceMeshOptions
from deskwatch.perception.observation import Box
from deskwatch.perception.quiet import native_stderr_silenced

# Face crops are scaled to this width before measuring sharpness, so distance does not matter.
_CROP_WIDTH = 128
_EYES = (33, 263)  # outer eye corners: the jitter scale


@dataclass(frozen=True)
class Thresholds:
    """Limits of a passing check (fractions of the picture, grey levels 0..255)."""

    min_face_rate: float = 0.9
    min_mesh_rate: float = 0.9
    min_face_height: float = 0.15
    max_face_height: float = 0.7
    max_off_centre_x: float = 0.25
    min_face_cy: float = 0.2
    max_face_cy: float = 0.7
    min_face_brightness: float = 60.0
    max_face_brightness: float = 230.0
    max_backlight: float = 1.6  # background / face brightness
    min_face_contrast: float = 20.0
    min_sharpness: float = 0.03  # Laplacian variance / grey variance of the face crop
    max_jitter: float = 0.03  # landmark movement between frames / eye distance


@dataclass(frozen=True)
class SelfCheckNumbers:
    """What was measured (medians over the frames where the face was found)."""

    frames: int
    face_rate: float = 0.0
    mesh_rate: float = 0.0
    face_height: float = 0.0
    face_cx: float = 0.0
    face_cy: float = 0.0
    face_brightness: float = 0.0
    background_brightness: float = 0.0
    face_contrast: float = 0.0
    sharpness: float = 0.0
    landmark_jitter: float = 0.0
    frame_brightness: float = 0.0
    frame_sharpness: float = 0.0


@dataclass(frozen=True)
class CheckItem:
    """One named check, whether it passed, and the tip when it did not."""

    name: str
    passed: bool
    tip: str = ""


@dataclass(frozen=True)
class SelfCheckResult:
    """Pass/fail, the numbers and per-check verdicts with plain-words tips."""

    numbers: SelfCheckNumbers
    items: tuple[CheckItem, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.items)

    @property
    def tips(self) -> list[str]:
        return [item.tip for item in self.items if not item.passed and item.tip]

    @property
    def failed(self) -> list[str]:
        return [item.name for item in self.items if not item.passed]

    def to_dict(self) -> dict[str, object]:
        numbers = {k: round(float(v), 3) for k, v in asdict(self.numbers).items()}
        return {"passed": self.passed, "failed": self.failed, "tips": self.tips, **numbers}

    def to_event(self, ts: float = 0.0) -> Event:
        """One ``self_check`` event with the measured numbers (never an image)."""
        evidence = finite_evidence(asdict(self.numbers))
        evidence["passed"] = 1.0 if self.passed else 0.0
        confidence = min(self.numbers.face_rate, self.numbers.mesh_rate)
        return Event(
            type="self_check",
            start_s=ts,
            end_s=ts,
            peak_confidence=round(confidence, 3),
            evidence=evidence,
        )


@dataclass
class _Samples:
    """Per-frame measures collected while the check runs."""

    frames: int = 0
    faces: int = 0
    meshes: int = 0
    per_face: list[tuple[float, ...]] = field(default_factory=list)
    jitter: list[float] = field(default_factory=list)
    frame_stats: list[tuple[float, float]] = field(default_factory=list)
    last_landmarks: Points | None = None


def run_self_check(frames: Iterable[Frame], limits: Thresholds | None = None) -> SelfCheckResult:
    """Measure ``frames`` (a few seconds, in time order) and judge them against ``limits``."""
    samples = _Samples()
    with native_stderr_silenced():  # models log their start-up, also on first inference
        detector = FaceDetector(FaceDetectorOptions(min_confidence=0.5))
        mesh = FaceMesh(FaceMeshOptions())
        with detector, mesh:
            for frame in frames:
                _measure(frame, detector, mesh, samples)
    numbers = _summarise(samples)
    return SelfCheckResult(numbers, judge(numbers, limits or Thresholds()))


def _measure(frame: Frame, detector: FaceDetector, mesh: FaceMesh, s: _Samples) -> None:
    s.frames += 1
    grey = as_image(cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY))
    s.frame_stats.append((float(grey.mean()), _sharpness(frame.thumbnail())))
    faces = detector.find(frame.image, frame.ts)
    index = faces.largest()
    if index is None:
        s.last_landmarks = None
        return
    s.faces += 1
    box = Box(*(float(v) for v in faces.xyxy[index]))
    s.per_face.append(_face_measures(grey, box))
    landmarks = mesh.landmarks(frame.image, frame.ts)
    if landmarks is None:
        s.last_landmarks = None
        return
    s.meshes += 1
    if s.last_landmarks is not None:
        s.jitter.append(_jitter(s.last_landmarks, landmarks))
    s.last_landmarks = landmarks


def _face_measures(grey: Image, box: Box) -> tuple[float, ...]:
    """Height, centre, brightness, contrast, sharpness of the face; background brightness."""
    h, w = grey.shape[:2]
    x1, y1, x2, y2 = max(0, int(box.x1)), max(0, int(box.y1)), int(box.x2) + 1, int(box.y2) + 1
    face = grey[y1:y2, x1:x2]
    mask = np.ones(grey.shape, dtype=bool)
    mask[y1:y2, x1:x2] = False
    background = float(grey[mask].mean()) if mask.any() else float(face.mean())
    crop_height = max(1, round(_CROP_WIDTH * face.shape[0] / face.shape[1]))
    crop = as_image(cv2.resize(face, (_CROP_WIDTH, crop_height)))
    return (
        box.height / h,
        box.cx / w,
        box.cy / h,
        float(face.mean()),
        background,
        float(face.std()),
        _sharpness(crop),
    )


def _sharpness(grey: Image) -> float:
    """Laplacian variance over grey-level variance: focus, whatever the light level."""
    variance = float(grey.var())
    return float(cv2.Laplacian(grey, cv2.CV_32F).var()) / variance if variance > 1 else 0.0


def _jitter(before: Points, after: Points) -> float:
    """Median landmark movement between two frames, in eye distances."""
    scale = float(np.linalg.norm(after[_EYES[0], :2] - after[_EYES[1], :2])) or 1.0
    moved = np.linalg.norm(after[:, :2] - before[:, :2], axis=1)
    return float(np.median(moved)) / scale


def _summarise(s: _Samples) -> SelfCheckNumbers:
    n = max(1, s.frames)
    stats = np.median(np.array(s.frame_stats), axis=0) if s.frame_stats else np.zeros(2)
    base = SelfCheckNumbers(
        frames=s.frames,
        face_rate=s.faces / n,
        mesh_rate=s.meshes / n,
        frame_brightness=float(stats[0]),
        frame_sharpness=float(stats[1]),
    )
    if not s.per_face:
        return base
    height, cx, cy, bright, back, contrast, sharp = (
        float(v) for v in np.median(np.array(s.per_face), axis=0)
    )
    return replace(
        base,
        face_height=height,
        face_cx=cx,
        face_cy=cy,
        face_brightness=bright,
        background_brightness=back,
        face_contrast=contrast,
        sharpness=sharp,
        landmark_jitter=float(np.median(s.jitter)) if s.jitter else 0.0,
    )


TIPS = {
    "dark": "it is too dark on your face — switch on a light in front of you",
    "bright": "your face is over-exposed — move away from the lamp or dim the light",
    "backlight": "the light is behind you — turn to face the window or put a lamp in front of you",
    "contrast": "your face is flat and low in contrast — add light from the front or the side",
    "focus": "the picture is blurred — wipe the camera lens or let it refocus",
    "far": "you are far from the camera — move closer or bring the camera nearer",
    "near": "you are too close to the camera — sit back a little",
    "left_right": "you are at the edge of the picture — centre the camera on you",
    "low": "your face is low in the picture — move the camera down or tilt it down",
    "high": "your head is cut off at the top — move the camera up or tilt it up",
    "no_face": "no face was found — sit in front of the camera, facing it",
    "unsteady": "your face is found only now and then — improve the light on your face",
    "landmarks": "face tracking is unsteady — sit still, face the camera, avoid glare on glasses",
}


def judge(n: SelfCheckNumbers, t: Thresholds) -> tuple[CheckItem, ...]:
    """Per-check verdicts; without a face, only picture-wide light and focus can be told."""
    if n.face_rate == 0:
        return (
            _item("light", n.frame_brightness >= t.min_face_brightness / 2, "dark"),
            _item("focus", n.frame_sharpness >= t.min_sharpness, "focus"),
            _item("face_found", False, "no_face"),
        )
    backlight = n.background_brightness / max(1.0, n.face_brightness)
    return (
        _item("light", n.face_brightness >= t.min_face_brightness, "dark"),
        _item("exposure", n.face_brightness <= t.max_face_brightness, "bright"),
        _item("backlight", backlight <= t.max_backlight, "backlight"),
        _item("contrast", n.face_contrast >= t.min_face_contrast, "contrast"),
        _item("focus", n.sharpness >= t.min_sharpness, "focus"),
        _item("size_far", n.face_height >= t.min_face_height, "far"),
        _item("size_near", n.face_height <= t.max_face_height, "near"),
        _item("centred", abs(n.face_cx - 0.5) <= t.max_off_centre_x, "left_right"),
        _item("not_low", n.face_cy <= t.max_face_cy, "low"),
        _item("not_high", n.face_cy >= t.min_face_cy, "high"),
        _item("face_found", n.face_rate >= t.min_face_rate, "unsteady"),
        _item(
            "landmarks",
            n.mesh_rate >= t.min_mesh_rate and n.landmark_jitter <= t.max_jitter,
            "landmarks",
        ),
    )


def _item(name: str, passed: bool, tip: str) -> CheckItem:
    return CheckItem(name, bool(passed), "" if passed else TIPS[tip])
