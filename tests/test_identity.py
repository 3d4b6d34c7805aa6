"""Identity check on real footage with the real models (dlib, MediaPipe face mesh)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source
from deskwatch.config import load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.identity.check import FaceWindow, IdentityResult
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.liveness import judge
from deskwatch.identity.store import Choice, TemplateError, TemplateStore
from deskwatch.perception.observation import HeadPose
from tests.conftest import shared_file

CONFIG = IdentityConfig(enabled=True)


def video(name: str) -> Path:
    return shared_file("data", "dev", "videos", name)


def frames(name: str, start_s: float = 0.0, fps: float = 2.0) -> Iterator[Frame]:
    source = open_source(str(video(name)), fps)
    try:
        yield from (f for f in source if f.ts >= start_s)
    finally:
        source.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> TemplateStore:
    """The webcam worker enrolled from one clip (the other clip is kept for verifying)."""
    pytest.importorskip("dlib")
    from deskwatch.identity.enrolment import enrol_from

    path = video("webcam-centre.mp4")
    store = TemplateStore(tmp_path_factory.mktemp("identity"))
    source = open_source(str(path), 4.0)
    try:
        assert enrol_from(source, store, seconds=8.0) >= 3
    finally:
        source.close()
    return store


def check(store: TemplateStore, shots: Iterator[Frame]) -> IdentityResult:
    """One face check over the window (or the whole clip, if shorter)."""
    from deskwatch.identity.encoder import FaceEncoder, FaceEncoderOptions
    from deskwatch.perception.face_mesh import FaceMesh, FaceMeshOptions

    mesh = FaceMesh.create_from_options(FaceMeshOptions())
    encoder = FaceEncoder.create_from_options(FaceEncoderOptions())
    window = FaceWindow(CONFIG, mesh, encoder, CONFIG.descriptor_frames)
    try:
        for frame in shots:
            window.add(frame)
            if window.done(frame.ts):
                break
        return window.verdict(store.load())
    finally:
        window.close()


@pytest.mark.slow
def test_same_person_on_other_footage_verifies(store: TemplateStore) -> None:
    # The second clip: looking at the screen, then to the left at 5.5 s (the live cue).
    result = check(store, frames("webcam-centre-left-centre.mp4", start_s=1.0))
    event = result.to_event()
    assert event.type == "identity_verified", event.evidence
    assert event.evidence["distance"] < CONFIG.max_distance / 2
    assert event.evidence["liveness"] == 1.0 and event.evidence["method_face"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["one-person-head-turns.gif", "two-people-head-turns.gif"])
def test_other_people_are_rejected(store: TemplateStore, name: str) -> None:
    event = check(store, frames(name)).to_event()
    assert event.type == "identity_mismatch", event.evidence
    assert event.evidence["distance"] > CONFIG.max_distance


def _replayed(name: str, at_s: float, seconds: float = 9.0, fps: float = 2.0) -> Iterator[Frame]:
    """One still picture of ``name`` held to the camera: the same image, frame after frame."""
    still = next(frames(name, start_s=at_s)).image
    for i in range(int(seconds * fps)):
        yield Frame(still.copy(), i / fps, i)


@pytest.mark.slow
def test_still_image_replayed_as_video_fails_liveness(store: TemplateStore) -> None:
    event = check(store, _replayed("webcam-centre-left-centre.mp4", 3.0)).to_event()
    # The worker's own face, but not alive: unverified, flagged, never "verified".
    assert event.type == "identity_unverified", event.evidence
    assert event.evidence["liveness_failed"] == 1.0
    assert event.evidence["liveness"] < 0.5
    assert event.evidence["distance"] < CONFIG.max_distance


@pytest.mark.slow
def test_no_face_is_unverified_with_the_reason(store: TemplateStore) -> None:
    dark = (Frame(np.zeros((480, 640, 3), np.uint8), i / 2, i) for i in range(18))
    event = check(store, dark).to_event()
    assert event.type == "identity_unverified"
    assert event.evidence == {"method_face": 1.0, "reason_no_face": 1.0}


def test_template_is_unreadable_without_the_key(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    descriptors = np.random.default_rng(1).normal(0, 0.1, (3, 128)).astype(np.float32)
    store = TemplateStore(tmp_path)
    store.save(descriptors)
    np.testing.assert_array_equal(store.load(), descriptors)
    sealed = store.template_path.read_bytes()
    assert descriptors.tobytes()[:16] not in sealed  # not stored in the clear
    for path in (store.template_path, store.key_path):
        assert path.stat().st_mode & 0o077 == 0
    TemplateStore(tmp_path / "other").save(descriptors)  # someone else's key
    store.key_path.write_text((tmp_path / "other" / "identity.key").read_text())
    with pytest.raises(TemplateError, match="does not open"):
        store.load()
    store.key_path.unlink()
    with pytest.raises(TemplateError, match="no identity template"):
        store.load()


def test_delete_removes_template_and_key(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    store = TemplateStore(tmp_path)
    store.save(np.zeros((3, 128), np.float32))
    assert store.status().enrolled and store.choice() is Choice.FACE
    assert store.delete(Choice.PASSWORD)
    assert not store.template_path.exists() and not store.key_path.exists()
    assert store.status().choice is Choice.PASSWORD and not store.status().enrolled


def _poses(yaws: list[float], gazes: list[float], lids: list[float]) -> list[HeadPose]:
    return [HeadPose(y, 0.0, 0.0, g, o, 0.0) for y, g, o in zip(yaws, gazes, lids, strict=True)]


@pytest.mark.parametrize(
    ("yaws", "gazes", "lids", "passed"),
    [
        ([1, 1, 1, 1], [0, 0, 0, 0], [0.3, 0.3, 0.3, 0.3], False),  # a photo
        ([1, 2, 1, 2], [0, 1, 0, 1], [0.3, 0.31, 0.3, 0.29], False),  # jitter only
        ([0, 5, 12, 3], [0, 0, 0, 0], [0.3, 0.3, 0.3, 0.3], True),  # head turn
        ([0, 0, 0, 0], [0, -14, -15, 1], [0.3, 0.3, 0.3, 0.3], True),  # a look aside
        ([0, 0, 0, 0], [0, 0, 0, 0], [0.3, 0.3, 0.08, 0.3], True),  # a blink
    ],
)
def test_liveness_cues(
    yaws: list[float], gazes: list[float], lids: list[float], passed: bool
) -> None:
    assert judge(_poses(yaws, gazes, lids), CONFIG).passed is passed


def test_policy_identity_section() -> None:
    policy = load_policy_text("[identity]\nenabled = true\nevery_min = 30\nmax_distance = 0.5\n")
    assert policy.identity.enabled and policy.identity.every_min == 30
    assert not load_policy_text("").identity.enabled  # off unless a team turns it on
    with pytest.raises(PolicyError, match=r"identity\.every_minutes: unknown key"):
        load_policy_text("[identity]\nevery_minutes = 30\n")


def test_disabled_identity_never_imports_dlib(tmp_path: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from deskwatch.capture.frame import Frame\n"
        "from deskwatch.config import Policy\n"
        "from deskwatch.identity.hook import IdentityHook\n"
        "from deskwatch.transport.client import DeviceClient\n"
        "hook = IdentityHook(Path(sys.argv[1]), DeviceClient('http://127.0.0.1:9'))\n"
        "frame = Frame(np.zeros((48, 64, 3), np.uint8), 0.5, 0)\n"
        "assert hook.on_frame(frame, [], Policy().identity) == []\n"
        "assert 'dlib' not in sys.modules and 'cryptography' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
