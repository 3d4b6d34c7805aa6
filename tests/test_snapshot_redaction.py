"""The evidence still: only the agent stays sharp, and it leaves the PC sealed."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deskwatch.arrays import Image, as_image
from deskwatch.capture.source import open_source
from deskwatch.perception.observation import Box
from deskwatch.privacy.redact import (
    NoFaceError,
    Redactor,
    agent_face,
    encode_jpeg,
    keep_mask,
    shrink,
)
from deskwatch.privacy.sealing import (
    MIN_SEALED_BYTES,
    VERSION,
    SealError,
    public_key_b64,
    public_key_from_b64,
    seal,
    unseal,
)
from tests.conftest import shared_file

SHARP, BLURRED = 0.6, 0.05  # Laplacian variance after / before redaction


def sharpness(image: Image, box: Box) -> float:
    h, w = image.shape[:2]
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(w, int(box.x2)), min(h, int(box.y2))
    grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def first_frame(name: str) -> Image:
    source = open_source(str(shared_file("data", "dev", "videos", name)), fps=2)
    try:
        return next(iter(source)).image
    finally:
        source.close()


def webcam_beside_two_people() -> Image:
    """The agent at their webcam with two other people pasted beside them."""
    webcam = first_frame("webcam-centre.mp4")
    table = cv2.imread(str(shared_file("data", "dev", "images", "two-people-table.jpg")))
    h = webcam.shape[0]
    table = cv2.resize(table, (round(table.shape[1] * h / table.shape[0]), h))
    return as_image(np.hstack([webcam, table]))


@pytest.fixture(scope="module")
def redactor() -> Iterator[Redactor]:
    """The real models (MediaPipe is a core dependency: failing to load them is a failure)."""
    with Redactor() as r:
        yield r


@pytest.mark.parametrize(
    ("scene", "others"),
    [("pasted", 2), ("two-people-head-turns.gif", 1), ("two-people-table.jpg", 1)],
)
def test_only_the_agent_stays_sharp(redactor: Redactor, scene: str, others: int) -> None:
    if scene == "pasted":
        image = webcam_beside_two_people()
    elif scene.endswith(".gif"):
        image = first_frame(scene)
    else:
        image = as_image(cv2.imread(str(shared_file("data", "dev", "images", scene))))
    original = shrink(image)
    result = redactor.redact(image)
    assert result.agent_face is not None and len(result.other_faces) == others
    agent = result.agent_face
    assert sharpness(result.image, agent) > SHARP * sharpness(original, agent)
    for face in result.other_faces:
        assert sharpness(result.image, face) < BLURRED * sharpness(original, face)
    h, w = original.shape[:2]
    corner = Box(0, 0, w * 0.12, h * 0.12)  # background, away from everyone's face
    assert sharpness(result.image, corner) < max(5.0, BLURRED * sharpness(original, corner))
    found = redactor.find_faces(as_image(cv2.cvtColor(result.image, cv2.COLOR_BGR2RGB)))
    assert len(found) == 1  # only the agent's face is still a face


def test_pasted_agent_is_the_large_central_face(redactor: Redactor) -> None:
    image = webcam_beside_two_people()
    result = redactor.redact(image)
    assert result.agent_face is not None
    assert result.agent_face.cx < shrink(image).shape[1] * 0.4  # the webcam half


def test_agent_face_prefers_large_then_central() -> None:
    small_centre = Box(300, 220, 340, 260)
    big_edge = Box(0, 0, 150, 150)
    assert agent_face([small_centre, big_edge], 640, 480) == 1
    same_size = [Box(0, 0, 100, 100), Box(270, 190, 370, 290)]
    assert agent_face(same_size, 640, 480) == 1
    assert agent_face([], 640, 480) is None


def test_keep_mask_splits_touching_people_and_drops_other_faces() -> None:
    person = np.zeros((200, 400), bool)
    person[40:, 40:360] = True  # two people whose blobs touch
    me, other = Box(60, 40, 120, 100), Box(280, 40, 340, 100)
    keep = keep_mask(person, me, [other])
    assert keep[150, 90] and keep[70, 90]  # my body and face
    assert not keep[150, 310] and not keep[70, 310]  # their body and face
    assert not keep[10, 200]  # background


def test_without_a_person_mask_only_the_face_stays_sharp() -> None:
    me = Box(60, 40, 120, 100)
    keep = keep_mask(np.zeros((200, 400), bool), me, [])
    assert keep.sum() == 60 * 60 and keep[70, 90] and not keep[150, 90]


def test_segmentation_without_a_mask_blurs_all_but_the_face(
    redactor: Redactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoMask:
        segmentation_mask = None

    monkeypatch.setattr(redactor._segmenter, "process", lambda rgb: NoMask())
    image = first_frame("webcam-centre.mp4")
    original, result = shrink(image), redactor.redact(image)
    face = result.agent_face
    below = Box(face.x1, face.y2 + 10, face.x2, original.shape[0])  # the body: no mask, blurred
    assert sharpness(result.image, face) > SHARP * sharpness(original, face)
    assert sharpness(result.image, below) < max(5.0, BLURRED * sharpness(original, below))


@pytest.mark.parametrize("scene", ["empty-desk-chair.jpg", "flat grey"])
def test_no_face_found_means_no_still(redactor: Redactor, scene: str) -> None:
    """The largest person blob may be a bystander whose face was missed: nothing is kept."""
    if scene == "flat grey":
        image = as_image(np.full((240, 320, 3), 128, np.uint8))
    else:
        image = as_image(cv2.imread(str(shared_file("data", "dev", "images", scene))))
    with pytest.raises(NoFaceError):
        redactor.redact(image)


def synthetic_jpeg() -> bytes:
    image = np.zeros((120, 160, 3), np.uint8)
    cv2.circle(image, (80, 60), 30, (40, 160, 220), -1)
    return encode_jpeg(as_image(image))


def test_sealed_still_is_not_a_jpeg_and_opens_only_with_the_key() -> None:
    jpeg = synthetic_jpeg()
    assert jpeg[:2] == b"\xff\xd8"
    private = X25519PrivateKey.generate()
    public = public_key_from_b64(public_key_b64(private.public_key()))
    context = b"event-1"
    sealed = seal(jpeg, public, context)
    assert sealed[0] == VERSION and len(sealed) == len(jpeg) + MIN_SEALED_BYTES == len(jpeg) + 61
    assert cv2.imdecode(np.frombuffer(sealed, np.uint8), cv2.IMREAD_COLOR) is None
    assert unseal(sealed, private, context) == jpeg
    assert seal(jpeg, public, context) != sealed  # a fresh ephemeral key and nonce each time
    for key, ctx in ((X25519PrivateKey.generate(), context), (private, b"event-2")):
        with pytest.raises(SealError):
            unseal(sealed, key, ctx)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        unseal(bytes(tampered), private, context)
    with pytest.raises(SealError):
        unseal(sealed[:20], private, context)
    with pytest.raises(SealError):
        unseal(bytes([VERSION + 1]) + sealed[1:], private, context)


def test_a_real_still_seals_and_opens(redactor: Redactor) -> None:
    jpeg = encode_jpeg(redactor.redact(first_frame("webcam-centre.mp4")).image)
    private = X25519PrivateKey.generate()
    sealed = seal(jpeg, private.public_key(), b"event-1")
    assert unseal(sealed, private, b"event-1") == jpeg
