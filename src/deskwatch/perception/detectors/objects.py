"""Object detector: YOLO-family ONNX models through onnxruntime.

On by default with the desk-object model shipped in the wheel (``perception/models``:
phone, person, drink, food, paper; trained by ``python -m deskwatch.training``); a policy
may name another model or turn it off. OpenCV and onnxruntime are imported when the
detector is built.
Two output layouts are understood: Ultralytics exports (v5: ``[1, N, 5+nc]`` with
objectness; v8/11: ``[1, 4+nc, N]``) with a centred RGB/255 letterbox, and YOLOX's raw
grid (``[1, anchors, 5+nc]``) with a top-left BGR 0-255 letterbox.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from deskwatch import lazy
from deskwatch.errors import DeskwatchError
from deskwatch.gating.view import GateView
from deskwatch.perception.base import DetectorConfig, ModelWrapper, TimestampGuard
from deskwatch.perception.detections import Detections
from deskwatch.perception.observation import Box, HandCues, ObjectConcepts, Observation
from deskwatch.perception.registry import Carry, DetectorSpec
from deskwatch.perception.stage import Stage

if TYPE_CHECKING:
    import cv2
    import onnxruntime as ort

    from deskwatch.arrays import Image
    from deskwatch.capture.frame import Frame
else:
    cv2 = lazy.module("cv2")

Layout = Literal["auto", "ultralytics", "yolox"]
FloatArray = NDArray[np.float32]

# Class names of the concepts, for both name sets: deskwatch's own model (phone, person,
# drink, food, paper) and COCO's (cell phone, cup, bottle, ..., book).
DRINKS = frozenset({"drink", "cup", "bottle", "wine glass"})
FOODS = frozenset(
    {"food", "sandwich", "banana", "apple", "orange", "pizza", "donut", "cake", "hot dog"}
)
PAPERS = frozenset({"paper", "book"})
PERSONS = frozenset({"person"})
PHONES = frozenset({"phone", "cell phone"})
HELD_PHONES = frozenset({"remote"})  # small COCO models call a hand-held phone "remote"
# A phone is held when its box overlaps a hand box grown by this share of its size on every
# side, or the face box grown by FACE_REACH (at the ear, held up in front of the face).
HAND_REACH = 0.25
# A held phone's long side is at most this many face heights (or hand sizes): held up to
# the lens it looks bigger than the face, but a box taller than that is a person or a door.
MAX_PHONE_PER_HOLDER = 2.5
FACE_REACH = 0.5
PAD_VALUE = 114
MODELS = Path(__file__).resolve().parents[1] / "models"
DEFAULT_MODEL = "desk_objects.onnx"


def default_model() -> Path:
    """The desk-object model shipped inside the package."""
    return MODELS / DEFAULT_MODEL


YOLOX_STRIDES = (8, 16, 32)


class ObjectsConfig(DetectorConfig):
    type: Literal["objects"] = "objects"
    model_path: Path | None = Field(
        default=None, description="YOLO-format ONNX file; unset: the shipped desk-object model"
    )
    labels_path: Path | None = Field(default=None, description="class names, one per line")
    layout: Layout = "auto"
    min_confidence: float = Field(default=0.35, ge=0, le=1)
    nms_iou: float = Field(default=0.45, gt=0, le=1)
    threads: int = Field(default=1, ge=1, le=8)


@dataclass(frozen=True)
class ObjectDetectorOptions:
    model_path: Path
    labels_path: Path | None = None
    layout: Layout = "auto"
    min_confidence: float = 0.35
    nms_iou: float = 0.45
    threads: int = 1


@dataclass(frozen=True)
class Letterbox:
    """How an image was scaled and padded into the model input."""

    ratio: float
    pad_x: float
    pad_y: float

    def undo(self, xyxy: FloatArray) -> FloatArray:
        shift = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], dtype=np.float32)
        out: FloatArray = ((xyxy - shift) / self.ratio).astype(np.float32)
        return out


def letterbox(image: Image, size: tuple[int, int], centred: bool) -> tuple[Image, Letterbox]:
    """Fit ``image`` into ``size`` (h, w) keeping its aspect; pad with grey 114."""
    h, w = image.shape[:2]
    ratio = min(size[0] / h, size[1] / w)
    nh, nw = round(h * ratio), round(w * ratio)
    canvas = np.full((size[0], size[1], 3), PAD_VALUE, dtype=np.uint8)
    top, left = ((size[0] - nh) // 2, (size[1] - nw) // 2) if centred else (0, 0)
    canvas[top : top + nh, left : left + nw] = cv2.resize(image, (nw, nh))
    return canvas, Letterbox(ratio, float(left), float(top))


def yolox_grid(size: tuple[int, int]) -> tuple[FloatArray, FloatArray]:
    """Grid offsets and strides of YOLOX's anchors for an input of ``size`` (h, w)."""
    grids, strides = [], []
    for stride in YOLOX_STRIDES:
        gh, gw = size[0] // stride, size[1] // stride
        ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grids.append(np.stack([xs, ys], axis=-1).reshape(-1, 2))
        strides.append(np.full((gh * gw, 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


@dataclass(frozen=True)
class Candidates:
    """Decoded boxes (xywh centre, input pixels) with best class and its score."""

    cxcywh: FloatArray
    scores: FloatArray
    class_ids: NDArray[np.int64]

    @classmethod
    def from_scores(cls, cxcywh: FloatArray, class_scores: FloatArray) -> Candidates:
        ids = class_scores.argmax(axis=1)
        return cls(cxcywh, class_scores[np.arange(len(ids)), ids], ids)


def decode_yolox(raw: FloatArray, size: tuple[int, int]) -> Candidates:
    grid, strides = yolox_grid(size)
    xy = (raw[:, :2] + grid) * strides
    wh = np.exp(raw[:, 2:4]) * strides
    return Candidates.from_scores(np.hstack([xy, wh]), raw[:, 4:5] * raw[:, 5:])


def decode_v5(raw: FloatArray) -> Candidates:
    return Candidates.from_scores(raw[:, :4], raw[:, 4:5] * raw[:, 5:])


def decode_v8(raw: FloatArray) -> Candidates:
    rows = raw.T  # [N, 4+nc]
    return Candidates.from_scores(np.ascontiguousarray(rows[:, :4]), rows[:, 4:])


def detect_layout(shape: tuple[int, ...], classes: int, size: tuple[int, int]) -> Layout:
    """Tell the output layout from its shape: [1, A, B] with ``classes`` names."""
    if len(shape) != 3:
        raise DeskwatchError(f"objects model: unsupported output shape {shape}")
    a, b = shape[1], shape[2]
    if b == 5 + classes and a == len(yolox_grid(size)[0]):
        return "yolox"
    if b == 5 + classes or a == 4 + classes:
        return "ultralytics"
    raise DeskwatchError(
        f"objects model: output shape {shape} does not fit {classes} class names "
        "(expected [1, 4+nc, N], [1, N, 5+nc] or YOLOX [1, anchors, 5+nc])"
    )


def nms(found: Candidates, min_confidence: float, iou: float) -> Candidates:
    """Class-aware non-maximum suppression (OpenCV's) above ``min_confidence``."""
    keep = found.scores >= min_confidence
    c = Candidates(found.cxcywh[keep], found.scores[keep], found.class_ids[keep])
    if not len(c.scores):
        return c
    xywh = np.hstack([c.cxcywh[:, :2] - c.cxcywh[:, 2:] / 2, c.cxcywh[:, 2:]])
    kept = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(), c.scores.tolist(), c.class_ids.tolist(), min_confidence, iou
    )
    idx = np.asarray(kept, dtype=np.int64).reshape(-1)
    return Candidates(c.cxcywh[idx], c.scores[idx], c.class_ids[idx])


def class_names(session: ort.InferenceSession, labels_path: Path | None) -> list[str]:
    """Names from the model's metadata (Ultralytics ``names``), else a labels file."""
    meta = session.get_modelmeta().custom_metadata_map
    if "names" in meta:
        names = ast.literal_eval(meta["names"])
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names)]
        return [str(n) for n in names]
    if labels_path is None:
        raise DeskwatchError(
            "objects model has no class names in its metadata: set labels_path to a file "
            "with one class name per line"
        )
    try:
        lines = labels_path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DeskwatchError(f"labels file {labels_path}: {exc.strerror}") from None
    return [line.strip() for line in lines if line.strip()]


def _open_session(path: Path, threads: int) -> ort.InferenceSession:
    """Load the model; onnxruntime is imported only when an object model is configured."""
    import onnxruntime as ort

    if not path.is_file():
        raise DeskwatchError(f"objects model {path}: no such file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unexported error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeskwatchError(f"objects model {path}: cannot load as ONNX ({first})") from None


class ObjectDetector(ModelWrapper):
    """A YOLO-family ONNX model: letterbox, run, decode, NMS, map to concepts."""

    key: ClassVar[str] = "objects"

    def __init__(self, options: ObjectDetectorOptions) -> None:
        self._options = options
        self._session = _open_session(options.model_path, options.threads)
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        h, w = model_input.shape[2:4]
        self._size = (int(h) if isinstance(h, int) else 640, int(w) if isinstance(w, int) else 640)
        self.names = class_names(self._session, options.labels_path)
        shape = self._output_shape()
        self.layout: Layout = options.layout
        if self.layout == "auto":
            self.layout = detect_layout(shape, len(self.names), self._size)
        if shape[2] not in (4 + len(self.names), 5 + len(self.names)) and shape[1] != 4 + len(
            self.names
        ):
            raise DeskwatchError(
                f"objects model: {len(self.names)} class names do not fit output shape {shape}"
            )
        self._guard = TimestampGuard("object detector")

    @classmethod
    def create_from_options(cls, options: ObjectDetectorOptions) -> ObjectDetector:
        return cls(options)

    def _output_shape(self) -> tuple[int, ...]:
        """The output's shape; a model with dynamic axes is run once on a blank input."""
        shape = self._session.get_outputs()[0].shape
        if all(isinstance(d, int) for d in shape):
            return tuple(int(d) for d in shape)
        blank = np.zeros((1, 3, *self._size), dtype=np.float32)
        return tuple(self._session.run(None, {self._input_name: blank})[0].shape)

    def find(self, image: Image, ts: float) -> Detections:
        """Objects in one BGR image, boxes in its pixels."""
        self._guard.check(ts)
        yolox = self.layout == "yolox"
        boxed, lb = letterbox(image, self._size, centred=not yolox)
        if yolox:
            tensor = boxed.astype(np.float32)
        else:
            tensor = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
        raw = np.asarray(self._session.run(None, {self._input_name: tensor})[0][0], np.float32)
        found = nms(self._decode(raw), self._options.min_confidence, self._options.nms_iou)
        centre, half = found.cxcywh[:, :2], found.cxcywh[:, 2:] / 2
        xyxy = lb.undo(np.hstack([centre - half, centre + half]).astype(np.float32))
        h, w = image.shape[:2]
        xyxy = np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)
        labels = tuple(self.names[i] for i in found.class_ids)
        return Detections(xyxy, found.scores.astype(np.float32), labels)

    def _decode(self, raw: FloatArray) -> Candidates:
        if self.layout == "yolox":
            return decode_yolox(raw, self._size)
        if raw.shape[1] == 5 + len(self.names):
            return decode_v5(raw)
        return decode_v8(raw)

    def detect(self, frame: Frame, obs: Observation) -> None:
        found = self.find(frame.image, frame.ts)
        obs.objects = concepts(found, obs.hands, obs.main_face)

    def close(self) -> None:
        """onnxruntime frees the session with the object."""


def concepts(found: Detections, hands: HandCues | None, face: Box | None) -> ObjectConcepts:
    """Map class names to phone / held phone / drink / food / paper / person.

    ``phone`` is the best phone seen anywhere; ``phone_held`` the best one whose box is in or
    near a hand or at the face and sized like a phone for that hand or face (a phone lying on
    the desk is seen, not held; a "phone" taller than ``MAX_PHONE_PER_HOLDER`` faces or hands
    is something else). A "remote" counts as a phone only when held.
    """
    holders = [
        (b.expand(HAND_REACH, HAND_REACH), _long_side(b)) for b in (hands.boxes if hands else ())
    ]
    if face is not None:
        holders.append((face.expand(FACE_REACH, FACE_REACH), face.height))
    phone = held = 0.0
    for label, score, xyxy in zip(found.labels, found.confidence, found.xyxy, strict=True):
        if label not in PHONES and label not in HELD_PHONES:
            continue
        box = Box(*map(float, xyxy))
        in_hand = any(
            _overlaps(box, region) and _long_side(box) <= MAX_PHONE_PER_HOLDER * size
            for region, size in holders
        )
        if label in PHONES or in_hand:
            phone = max(phone, float(score))
        if in_hand:
            held = max(held, float(score))
    return ObjectConcepts(
        detections=found,
        phone=phone,
        phone_held=held,
        drink=found.with_label(*DRINKS).max_confidence(),
        food=found.with_label(*FOODS).max_confidence(),
        paper=found.with_label(*PAPERS).max_confidence(),
        persons=count_people(found.with_label(*PERSONS)),
    )


def _long_side(box: Box) -> float:
    return max(box.width, box.height)


def count_people(people: Detections, min_confidence: float = 0.5, inside: float = 0.6) -> int:
    """Confident person boxes, not counting one that lies mostly inside a bigger one."""
    people = people.filter(people.confidence >= min_confidence)
    order = np.argsort(-people.area)
    kept: list[Box] = []
    for i in order:
        box = Box(*(float(v) for v in people.xyxy[i]))
        area = box.area
        if area > 0 and all(box.intersection(k) / area < inside for k in kept):
            kept.append(box)
    return len(kept)


def _overlaps(a: Box, b: Box) -> bool:
    return a.x1 < b.x2 and b.x1 < a.x2 and a.y1 < b.y2 and b.y1 < a.y2


def _create(config: ObjectsConfig) -> ObjectDetector:
    options = ObjectDetectorOptions(
        config.model_path or default_model(),
        config.labels_path,
        config.layout,
        config.min_confidence,
        config.nms_iou,
        config.threads,
    )
    return ObjectDetector.create_from_options(options)


def _gating(view: GateView) -> bool:
    """Without a face only on motion (it is then the only presence check); with one on motion
    near the face, when hands are up, or while a cue it feeds is live."""
    if not view.face_present:
        return view.moved
    hands = view.obs.hands
    hands_up = hands is not None and hands.count > 0 and view.ran(Stage.HANDS)
    return view.moved_near_face or hands_up or view.live_cue


def describe(obs: Observation) -> str | None:
    o = obs.objects
    if o is None:
        return None
    return (
        f"phone {o.phone:.2f} (held {o.phone_held:.2f}), drink {o.drink:.2f}, "
        f"food {o.food:.2f}, paper {o.paper:.2f}, {o.persons} person(s)"
    )


DETECTOR = DetectorSpec(
    stage=Stage.OBJECTS,
    config=ObjectsConfig,
    factory=_create,
    output="objects",
    title="objects (phone, drink, food, people)",
    describe=describe,
    reads=frozenset({Stage.FACE, Stage.HANDS}),
    gating=_gating,
    carry=Carry.ALWAYS,
    default_on=True,
)
