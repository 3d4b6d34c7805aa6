"""Detector adapters: real models on real images, geometry on synthetic landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deskwatch.arrays import Image, Points, as_image
from deskwatch.capture.frame import Frame
from deskwatch.perception.detections import Detections
from deskwatch.perception.detectors.camera_health import CameraHealthConfig, CameraHealthDetector
from deskwatch.perception.detectors.face import FaceDetector, FaceDetectorOptions
from deskwatch.perception.detectors.face_mesh import (
    FaceMesh,
    FaceMeshOptions,
    eye_measures,
    head_angles,
)
from deskwatch.perception.detectors.hands import hand_cues
from deskwatch.perception.fusion import POSTURE_PRECISION, fuse
from deskwatch.perception.observation import Box, HandCues, HeadPose, ObjectConcepts, Observation
from deskwatch.perception.registry import create, detectors
from tests.conftest import shared_file


def image(name: str) -> Image:
    return as_image(cv2.imread(str(shared_file("data", "dev", "images", name))))


@pytest.mark.parametrize(
    ("name", "at_least", "at_most"),
    [
        ("empty-desk-chair.jpg", 0, 0),
        ("empty-desk.jpg", 0, 0),
        ("person-looking-at-phone.jpg", 1, 1),
        ("two-people-table.jpg", 2, 2),
        ("four-faces-selfie.jpg", 3, 4),
    ],
)
def test_face_counts_on_real_images(name: str, at_least: int, at_most: int) -> None:
    with FaceDetector.create_from_options(FaceDetectorOptions()) as detector:
        faces = detector.find(image(name), 1.0)
    assert at_least <= len(faces) <= at_most
    assert all(label == "face" for label in faces.labels)


def test_model_timestamps_must_increase() -> None:
    with FaceDetector.create_from_options(FaceDetectorOptions()) as detector:
        blank = np.zeros((64, 64, 3), np.uint8)
        detector.find(blank, 1.0)
        with pytest.raises(ValueError, match="not after"):
            detector.find(blank, 1.0)


def test_head_pose_is_mirror_symmetric() -> None:
    picture = image("two-people-table.jpg")
    with FaceMesh.create_from_options(FaceMeshOptions(static_image=True)) as mesh:
        pose = mesh.pose(picture, 1.0)
        mirrored = mesh.pose(as_image(cv2.flip(picture, 1)), 2.0)
    assert pose is not None and mirrored is not None
    assert abs(pose.yaw_deg) > 5
    assert mirrored.yaw_deg == pytest.approx(-pose.yaw_deg, abs=4)
    assert mirrored.roll_deg == pytest.approx(-pose.roll_deg, abs=4)
    assert mirrored.pitch_deg == pytest.approx(pose.pitch_deg, abs=4)


def _frontal_face(yaw_deg: float) -> Points:
    """Synthetic 478 landmarks: eye corners, forehead and chin of a head turned by yaw.

    Turning toward the image's right moves the right-hand eye away from the camera (+z).
    """
    lm = np.zeros((478, 3))
    r = np.radians(yaw_deg)
    for idx, x in ((33, -40.0), (263, 40.0)):
        lm[idx] = [x * np.cos(r), 0.0, x * np.sin(r)]
    lm[10], lm[152] = [0, -60, 0], [0, 80, 0]
    return lm


@pytest.mark.parametrize("yaw", [-60.0, -20.0, 0.0, 30.0, 70.0])
def test_head_angles_recover_a_known_yaw(yaw: float) -> None:
    got_yaw, pitch, roll = head_angles(_frontal_face(yaw))
    assert got_yaw == pytest.approx(yaw, abs=0.5)
    assert pitch == pytest.approx(0, abs=0.5) and roll == pytest.approx(0, abs=0.5)


@pytest.mark.parametrize(("iris_share", "sign"), [(0.5, 0), (0.3, -1), (0.7, 1)])
def test_eye_yaw_follows_the_iris(iris_share: float, sign: int) -> None:
    lm = np.zeros((478, 2))
    for outer, inner, upper, lower, iris, x0 in (
        (33, 133, 159, 145, 468, 0),
        (263, 362, 386, 374, 473, 100),
    ):
        lm[outer], lm[inner] = [x0, 0], [x0 + 30, 0]
        lm[upper], lm[lower] = [x0 + 15, -5], [x0 + 15, 5]
        lm[iris] = [x0 + 30 * iris_share, 0]
    eye_yaw, openness = eye_measures(lm)
    assert np.sign(round(eye_yaw)) == sign
    assert openness == pytest.approx(10 / 30)


FACE = Box(200, 100, 300, 220)


def _hand_at(x: float, y: float) -> Points:
    return np.array(
        [[x + dx, y + dy] for dx in range(-10, 11, 5) for dy in range(-10, 11, 5)][:21], float
    )


@pytest.mark.parametrize(
    ("where", "cue"),
    [((200, 160), "at_ear"), ((300, 160), "at_ear"), ((250, 300), "in_front"), ((600, 50), None)],
)
def test_hand_cues_relative_to_the_face(where: tuple[float, float], cue: str | None) -> None:
    cues = hand_cues([_hand_at(*where)], FACE)
    values = {"at_ear": cues.at_ear, "at_mouth": cues.at_mouth, "in_front": cues.in_front}
    if cue is None:
        assert max(values.values()) == 0
    else:
        assert values[cue] > 0.5 and values[cue] == max(values.values())


def test_hand_at_mouth() -> None:
    hand = _hand_at(250, 210)
    assert hand_cues([hand], FACE).at_mouth > 0.5


def test_no_face_no_cues() -> None:
    cues = hand_cues([_hand_at(250, 300)], None)
    assert cues.count == 1 and cues.at_ear == cues.in_front == 0


def _obs(**fields: object) -> Observation:
    obs = Observation(0.0, 0, 640, 480)
    obs.faces = Detections.from_lists([[200, 100, 300, 220]], [0.9], ["face"])
    for key, value in fields.items():
        setattr(obs, key, value)
    return obs


@pytest.mark.parametrize(
    ("fields", "phone", "eating"),
    [
        ({}, 0.0, 0.0),
        ({"hands": HandCues(1, at_ear=1.0)}, POSTURE_PRECISION, 0.0),
        (
            {"hands": HandCues(2, in_front=1.0), "head": HeadPose(0, 30, 0, 0, 0.2, 0)},
            POSTURE_PRECISION,
            0.0,
        ),
        ({"hands": HandCues(2, in_front=1.0), "head": HeadPose(0, 0, 0, 0, 0.2, 0)}, 0.0, 0.0),
        ({"objects": ObjectConcepts(Detections(), phone=0.9, phone_held=0.9)}, 0.9, 0.0),
        ({"objects": ObjectConcepts(Detections(), phone=0.9)}, 0.0, 0.0),  # on the desk
        ({"hands": HandCues(1, at_mouth=1.0)}, 0.0, 0.6),
        ({"objects": ObjectConcepts(Detections(), drink=0.9)}, 0.0, 0.405),
        (
            {
                "objects": ObjectConcepts(Detections(), drink=0.9),
                "hands": HandCues(1, at_mouth=1.0),
            },
            0.0,
            0.9,
        ),
    ],
)
def test_fusion(fields: dict[str, object], phone: float, eating: float) -> None:
    cues = fuse(_obs(**fields))
    assert cues.phone == pytest.approx(phone) and cues.eating == pytest.approx(eating)


@pytest.mark.parametrize(
    ("picture", "flag"),
    [
        (np.zeros((120, 160, 3), np.uint8), "dark"),
        (np.full((120, 160, 3), 128, np.uint8), "uniform"),
        (
            cv2.GaussianBlur(
                np.random.default_rng(0).integers(0, 255, (120, 160, 3)).astype(np.uint8),
                (31, 31),
                12,
            ),
            "blurry",
        ),
    ],
)
def test_camera_health_flags(picture: Image, flag: str) -> None:
    health = CameraHealthDetector(CameraHealthConfig()).measure(
        Frame(as_image(picture), 0, 0).thumbnail(), 0.0
    )
    assert getattr(health, flag)


def test_camera_health_detects_frozen_frames(rng: np.random.Generator) -> None:
    det = CameraHealthDetector(CameraHealthConfig())
    still = as_image(rng.integers(0, 255, (120, 160, 3)))
    first = det.measure(Frame(still, 0, 0).thumbnail(), 0.0)
    second = det.measure(Frame(still.copy(), 1, 1).thumbnail(), 1.0)
    noisy = as_image(np.clip(still.astype(int) + rng.integers(-3, 4, still.shape), 0, 255))
    third = det.measure(Frame(noisy, 2, 2).thumbnail(), 2.0)
    assert (first.frozen, second.frozen, third.frozen) == (False, True, False)
    assert not second.dark and not second.uniform


def test_registry_knows_every_builtin_detector() -> None:
    assert {"camera_health", "face", "face_mesh", "hands"} <= set(detectors())
    det = create(CameraHealthConfig())
    assert det.key == "camera_health"
    det.close()
