"""Copy-paste synthesis: phones and look-alikes composited into real pictures of people.

Phone cut-outs come from the training positives' boxes (GrabCut inside each box). Each
background (a real head-and-shoulders photo, framed like a laptop webcam) is searched by
MediaPipe for the face and hands; a phone is placed where people hold one: in a found
hand, held up, at the ear, at chest height, or low at the bottom edge, sized from the
face, blurred, lit and noised like its surroundings, and partly covered by fingers.
Look-alikes (wallet, remote, pen, microphone, cup, book) are drawn and placed the same
way: cups are labelled drink, books paper, the rest nothing. Every choice is drawn from
``SynthParams`` with a seed, so the same parameters rebuild the same images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deskwatch.arrays import as_image
from deskwatch.perception.mp import solutions
from deskwatch.training.dataset import Sample, read_image

if TYPE_CHECKING:
    from deskwatch.arrays import Image

Rng = np.random.Generator
Box4 = tuple[float, float, float, float]
CUTOUT_MAX_PX = 200  # pasted phones are smaller than this
PLACES = ("hand", "held_up", "ear", "chest", "bottom")


@dataclass(frozen=True)
class SynthParams:
    """Everything the generator draws from; changing one changes the built set."""

    seed: int = 13
    phones_per_background: int = 2
    lookalikes_per_background: int = 3
    # as lookalikes.LOOKALIKES: wallets and earbuds cases are held most like a phone
    lookalike_weights: tuple[float, ...] = (0.4, 0.08, 0.06, 0.06, 0.08, 0.12, 0.2)
    canvas_size: tuple[int, int] = (480, 640)  # h, w: a laptop webcam picture
    face_height_share: tuple[float, float] = (0.18, 0.4)  # of the picture height
    phone_length_per_face: tuple[float, float] = (0.6, 1.5)  # long side / face height
    drawn_back_share: float = 0.4  # phones drawn from the back (dark, lenses) not cut out
    tilt_deg: tuple[float, float] = (-35.0, 35.0)
    place_weights: tuple[float, ...] = (0.3, 0.2, 0.15, 0.2, 0.15)  # as PLACES
    finger_cover_p: float = 0.6
    blur_sigma_px: tuple[float, float] = (0.0, 1.6)
    noise_sigma: tuple[float, float] = (0.0, 6.0)
    light_gain: tuple[float, float] = (0.6, 1.15)
    jpeg_quality: tuple[int, int] = (55, 92)
    min_cutout_px: int = 24


@dataclass(frozen=True)
class Scene:
    """A background framed like a webcam, with the face and hands MediaPipe found in it."""

    image: Image
    face: Box4
    hands: tuple[Box4, ...]


def cutout(sample: Sample, box: NDArray[np.float32], min_px: int) -> Image | None:
    """The phone inside ``box`` as BGRA (alpha from GrabCut, the whole box if it fails)."""
    import cv2

    image = read_image(sample.image)
    x1, y1, x2, y2 = (round(v) for v in box)
    x1, y1 = max(0, x1), max(0, y1)
    crop = image[y1:y2, x1:x2]
    if min(crop.shape[:2]) < min_px:
        return None
    shrink = min(1.0, CUTOUT_MAX_PX / max(crop.shape[:2]))
    crop = as_image(cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA))
    mask = np.zeros(crop.shape[:2], np.uint8)
    rect = (2, 2, crop.shape[1] - 4, crop.shape[0] - 4)
    try:
        cv2.grabCut(crop, mask, rect, None, None, 2, cv2.GC_INIT_WITH_RECT)  # type: ignore[call-overload]
        alpha = np.where((mask == 1) | (mask == 3), 255, 0).astype(np.uint8)
    except cv2.error:
        alpha = np.full(crop.shape[:2], 255, np.uint8)
    if alpha.mean() < 255 * 0.4:  # GrabCut lost the phone: keep the whole box
        alpha[:] = 255
    return np.dstack([crop, cv2.GaussianBlur(alpha, (3, 3), 0)])


def cutouts(samples: list[Sample], params: SynthParams) -> list[Image]:
    """Every phone box of the training positives, cut out."""
    found = []
    for sample in samples:
        for row in sample.boxes:
            piece = cutout(sample, row[1:], params.min_cutout_px)
            if piece is not None:
                found.append(piece)
    return found


class SceneFinder:
    """MediaPipe face detection and hands on still images."""

    def __init__(self) -> None:
        mp = solutions()
        self._faces = mp.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self._hands = mp.hands.Hands(static_image_mode=True, max_num_hands=2)

    def find(self, image: Image) -> tuple[Box4 | None, tuple[Box4, ...]]:
        import cv2

        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        h, w = image.shape[:2]
        faces = self._faces.process(rgb).detections or []
        face = None
        if faces:
            b = max(faces, key=lambda d: d.score[0]).location_data.relative_bounding_box
            face = (b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h)
        hands = []
        for marks in self._hands.process(rgb).multi_hand_landmarks or []:
            xs = [p.x * w for p in marks.landmark]
            ys = [p.y * h for p in marks.landmark]
            hands.append((min(xs), min(ys), max(xs), max(ys)))
        return face, tuple(hands)

    def close(self) -> None:
        self._faces.close()
        self._hands.close()


def frame_like_webcam(
    image: Image, face: Box4, params: SynthParams, rng: Rng
) -> tuple[Image, float, float, float]:
    """``image`` scaled so the face has a webcam's size, on a webcam-shaped canvas.

    Returns the canvas and the scale and offset applied (to move boxes with it); the
    canvas outside the photo is its edge stretched and blurred.
    """
    import cv2

    ch, cw = params.canvas_size
    face_h = face[3] - face[1]
    scale = rng.uniform(*params.face_height_share) * ch / max(face_h, 1.0)
    scaled = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cx = (face[0] + face[2]) / 2 * scale
    cy = (face[1] + face[3]) / 2 * scale
    ox = cw / 2 + rng.uniform(-0.12, 0.12) * cw - cx
    oy = ch * rng.uniform(0.3, 0.45) - cy
    matrix = np.array([[1, 0, ox], [0, 1, oy]], dtype=np.float32)
    canvas = cv2.warpAffine(scaled, matrix, (cw, ch), borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.full(scaled.shape[:2], 255, np.uint8), matrix, (cw, ch))
    blurred = cv2.GaussianBlur(canvas, (0, 0), 9)
    canvas = np.where(inside[..., None] > 0, canvas, blurred)
    return as_image(canvas), scale, ox, oy


def place(where: str, scene: Scene, rng: Rng) -> tuple[float, float]:
    """The centre of an object held ``where``, in canvas pixels."""
    x1, y1, x2, y2 = scene.face
    fw, fh = x2 - x1, y2 - y1
    h, w = scene.image.shape[:2]
    side = rng.choice([-1, 1])
    if where == "hand" and scene.hands:
        hx1, hy1, hx2, hy2 = scene.hands[rng.integers(len(scene.hands))]
        return (hx1 + hx2) / 2, (hy1 + hy2) / 2
    if where == "ear":
        return (x1 + x2) / 2 + side * fw * 0.75, y1 + fh * rng.uniform(0.3, 0.7)
    if where == "chest":
        return (x1 + x2) / 2 + rng.uniform(-1, 1) * fw, y2 + fh * rng.uniform(0.7, 1.4)
    if where == "bottom":
        return rng.uniform(0.2, 0.8) * w, h - fh * rng.uniform(0.0, 0.3)
    return (x1 + x2) / 2 + side * fw * rng.uniform(0.3, 1.0), y1 + fh * rng.uniform(0.2, 1.2)


def paste(
    canvas: Image,
    piece: Image,
    centre: tuple[float, float],
    length: float,
    angle: float,
    params: SynthParams,
    rng: Rng,
) -> Box4 | None:
    """Composite BGRA ``piece`` (long side ``length`` px, turned ``angle``°) at ``centre``.

    The piece is blurred, lit and noised like the canvas; it may run off the picture's
    edge. Returns its visible box, or None when too little of it is in view.
    """
    import cv2

    ph, pw = piece.shape[:2]
    scale = length / max(ph, pw)
    turn = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, scale)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    bw, bh = int(ph * sin + pw * cos) + 2, int(ph * cos + pw * sin) + 2
    turn[0, 2] += bw / 2 - pw / 2
    turn[1, 2] += bh / 2 - ph / 2
    warped = as_image(cv2.warpAffine(piece, turn, (bw, bh), flags=cv2.INTER_AREA))
    sigma = rng.uniform(*params.blur_sigma_px)
    if sigma > 0.3:
        warped = as_image(cv2.GaussianBlur(warped, (0, 0), sigma))
    x0, y0 = int(centre[0] - bw / 2), int(centre[1] - bh / 2)
    return _blend(canvas, warped, x0, y0, params, rng)


def _blend(
    canvas: Image, warped: Image, x0: int, y0: int, params: SynthParams, rng: Rng
) -> Box4 | None:
    h, w = canvas.shape[:2]
    bh, bw = warped.shape[:2]
    cx1, cy1, cx2, cy2 = max(0, x0), max(0, y0), min(w, x0 + bw), min(h, y0 + bh)
    if cx2 - cx1 < 8 or cy2 - cy1 < 8:
        return None
    part = warped[cy1 - y0 : cy2 - y0, cx1 - x0 : cx2 - x0].astype(np.float32)
    alpha = part[..., 3:4] / 255.0
    region = canvas[cy1:cy2, cx1:cx2].astype(np.float32)
    gain = rng.uniform(*params.light_gain) * (0.6 + 0.4 * region.mean() / 128.0)
    colour = part[..., :3] * gain + rng.normal(
        0, rng.uniform(*params.noise_sigma), part[..., :3].shape
    )
    canvas[cy1:cy2, cx1:cx2] = np.clip(colour * alpha + region * (1 - alpha), 0, 255).astype(
        np.uint8
    )
    ys, xs = np.nonzero(part[..., 3] > 127)
    if len(xs) < 0.35 * bw * bh * 0.5:
        return None
    return (cx1 + xs.min(), cy1 + ys.min(), cx1 + xs.max() + 1, cy1 + ys.max() + 1)


def cover_with_fingers(canvas: Image, box: Box4, skin: tuple[int, int, int], rng: Rng) -> None:
    """Draw two to four fingers across one side of ``box`` in the face's skin colour."""
    import cv2

    x1, y1, x2, y2 = box
    width = max(3, int(min(x2 - x1, y2 - y1) * rng.uniform(0.12, 0.22)))
    from_left = rng.random() < 0.5
    for i in range(int(rng.integers(2, 5))):
        y = int(y1 + (y2 - y1) * (0.25 + 0.18 * i + rng.uniform(-0.05, 0.05)))
        start = int(x1 - width) if from_left else int(x2 + width)
        reach = (x2 - x1) * rng.uniform(0.15, 0.45)
        end = int(x1 + reach) if from_left else int(x2 - reach)
        shade = tuple(int(c * rng.uniform(0.8, 1.05)) for c in skin)
        cv2.line(canvas, (start, y), (end, y), shade, width, cv2.LINE_AA)


def skin_colour(image: Image, face: Box4) -> tuple[int, int, int]:
    """The median colour of the face box's middle."""
    x1, y1, x2, y2 = (int(v) for v in face)
    mx, my = (x2 - x1) // 4, (y2 - y1) // 4
    patch = image[y1 + my : y2 - my, x1 + mx : x2 - mx].reshape(-1, 3)
    if not len(patch):
        return (120, 140, 180)
    b, g, r = np.median(patch, axis=0)
    return int(b), int(g), int(r)


def phone_back(rng: Rng) -> Image:
    """A phone seen from the back as BGRA: a rounded slab with a camera island.

    Webcam footage mostly shows the back of a held phone, which product photos rarely do.
    """
    import cv2

    h, w = 300, int(300 * rng.uniform(0.45, 0.55))
    piece = np.zeros((h, w, 4), np.uint8)
    dark = rng.random() < 0.7
    base = rng.integers(10, 60, 3) if dark else rng.integers(120, 240, 3)
    colour = (*(int(v) for v in base), 255)
    r = int(w * 0.15)
    cv2.rectangle(piece, (r, 0), (w - r, h - 1), colour, -1)
    cv2.rectangle(piece, (0, r), (w - 1, h - r), colour, -1)
    for cx, cy in ((r, r), (w - r, r), (r, h - r), (w - r, h - r)):
        cv2.circle(piece, (cx, cy), r, colour, -1, cv2.LINE_AA)
    island = (int(w * 0.08), int(h * 0.04), int(w * rng.uniform(0.4, 0.6)), int(h * 0.22))
    cv2.rectangle(piece, island[:2], island[2:], (*(int(v * 0.7) for v in base), 255), -1)
    for i in range(int(rng.integers(1, 4))):
        centre = (int(w * 0.2), int(h * (0.07 + 0.065 * i)))
        cv2.circle(piece, centre, int(w * 0.09), (15, 15, 15, 255), -1, cv2.LINE_AA)
        cv2.circle(piece, centre, int(w * 0.09), (90, 90, 90, 255), 1, cv2.LINE_AA)
    shade = np.linspace(1.15, 0.85, w)[None, :, None]  # light from one side
    piece[..., :3] = np.clip(piece[..., :3] * shade + rng.normal(0, 4, (h, w, 3)), 0, 255)
    return piece
