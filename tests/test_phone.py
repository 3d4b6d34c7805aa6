"""``phone_in_use``: a held phone, evidence over the window, posture capped, on real footage."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from deskwatch.capture.source import open_source
from deskwatch.config import Policy, load_policy_text, policy_from_dict
from deskwatch.events.event import Event
from deskwatch.perception.detections import Detections
from deskwatch.perception.detectors.objects import concepts, describe
from deskwatch.perception.fusion import POSTURE_PRECISION, fuse
from deskwatch.perception.observation import Box, HandCues, HeadPose, Observation
from deskwatch.pipeline import Pipeline
from deskwatch.rules.phone import PhoneConfig
from deskwatch.rules.registry import build_rules
from tests.conftest import ROOT, make_obs, shared_file

FPS = 2.0
MIN_PHONE_S = PhoneConfig().min_phone_s
HAND = Box(380, 300, 460, 400)  # one hand, below and right of the conftest face (200-300)
PHONE_IN_HAND = [400.0, 280.0, 450.0, 370.0]
PHONE_ON_DESK = [40.0, 420.0, 90.0, 470.0]  # the same size, bottom left: far from hand and face


def _phone_only() -> Policy:
    rules = {name: {"enabled": name == "phone_in_use"} for name in Policy().rules.enabled()}
    return policy_from_dict({"rules": rules})


def _seen(ts: float, box: list[float] | None) -> Observation:
    """One frame: a face, a hand, and the phone box (or none), fused as the pipeline does."""
    obs = make_obs(ts, head=HeadPose(0, 0, 0, 0, 0.3, 0.0))
    obs.hands = HandCues(1, boxes=(HAND,))
    found = Detections() if box is None else Detections.from_lists([box], [0.7], ["cell phone"])
    obs.objects = concepts(found, obs.hands, obs.main_face)
    obs.cues = fuse(obs)
    return obs


def _run(frames: list[Observation]) -> list[tuple[float, Event]]:
    """Every event the rules emit, with the frame time it came out at."""
    rules = build_rules(_phone_only().rules)
    out = [(o.ts, e) for o in frames for r in rules for e in r.update(o, o.ts)]
    last = frames[-1].ts
    return out + [(last, e) for r in rules for e in r.flush(last)]


def _clip(
    held_from_s: float, held_to_s: float, missed: set[float], box: list[float]
) -> list[Observation]:
    """20 s at 2 fps; the phone box on the frames of [from, to) except ``missed``."""
    times = [i / FPS for i in range(int(20 * FPS))]
    return [
        _seen(t, box if held_from_s <= t < held_to_s and t not in missed else None) for t in times
    ]


def test_a_phone_in_a_hand_fires_and_the_same_phone_on_the_desk_does_not() -> None:
    held = _seen(0.0, PHONE_IN_HAND)
    assert held.objects is not None and held.objects.phone_held == pytest.approx(0.7)
    desk = _seen(0.0, PHONE_ON_DESK)
    assert desk.objects is not None and desk.objects.phone == pytest.approx(0.7)  # still seen
    assert desk.objects.phone_held == 0.0 and desk.cues.phone == 0.0
    fired = [e for _, e in _run(_clip(5, 15, set(), PHONE_IN_HAND)) if not e.is_open]
    assert [(e.type, e.start_s, e.end_s) for e in fired] == [("phone_in_use", 5.0, 15.0)]
    assert _run(_clip(0, 20, set(), PHONE_ON_DESK)) == []


def test_a_phone_at_the_face_is_held_without_a_hand() -> None:
    obs = make_obs(0.0)  # face 200-300 x 100-200
    found = Detections.from_lists([[300, 110, 340, 190]], [0.8], ["phone"])  # at the ear
    assert concepts(found, None, obs.main_face).phone_held == pytest.approx(0.8)
    assert concepts(found, None, None).phone_held == 0.0


def test_a_phone_box_far_bigger_than_the_face_is_not_a_held_phone() -> None:
    """A far-away person in dark clothes once came out as a 350 px "phone" over a 20 px face."""
    obs = make_obs(0.0)  # face 100 px tall
    big = Detections.from_lists([[180, 0, 340, 400]], [0.8], ["phone"])  # 4 face heights
    held_up = Detections.from_lists([[180, 60, 300, 260]], [0.8], ["phone"])  # 2 face heights
    assert concepts(big, None, obs.main_face).phone_held == 0.0
    assert concepts(big, None, obs.main_face).phone == pytest.approx(0.8)  # still seen
    assert concepts(held_up, None, obs.main_face).phone_held == pytest.approx(0.8)


@pytest.mark.parametrize(
    "missed",
    [set(), {6.0}, {5.0}, {6.0, 7.0}, {5.0, 5.5}, {7.5, 8.0}, {6.5, 7.0}],
    ids=str,
)
def test_missed_frames_in_the_window_still_fire_in_time(missed: set[float]) -> None:
    truth_s = 5.0
    emitted = _run(_clip(truth_s, 15, missed, PHONE_IN_HAND))
    (fired_at, opened), *rest = emitted
    assert opened.is_open and opened.type == "phone_in_use"
    assert fired_at <= truth_s + MIN_PHONE_S + 1.0
    assert truth_s <= opened.start_s <= truth_s + 1.0
    assert fired_at >= opened.start_s + MIN_PHONE_S  # min_phone_s still says how long
    assert [e.end_s for _, e in rest] == [15.0]  # one event, ended when the phone went


def test_the_evidence_share_comes_from_the_policy() -> None:
    frames = _clip(5.0, 15, {6.0}, PHONE_IN_HAND)
    rules = build_rules(
        policy_from_dict({"rules": {"phone_in_use": {"min_evidence_share": 1.0}}}).rules
    )
    opened = [(o.ts, e) for o in frames for r in rules for e in r.update(o, o.ts) if e.is_open]
    assert [(ts, e.type) for ts, e in opened] == [(9.5, "phone_in_use")]  # a full window


@pytest.mark.parametrize(
    "seen",
    [
        {3.0, 11.0},  # two stray detections
        {3.0, 3.5},  # two in a row
        {float(t) * 1.5 for t in range(13)},  # one every 1.5 s (closer than end_grace_s)
        {t / 2 for t in range(40) if t % 3 == 0},  # one frame in three
    ],
    ids=["two stray", "two in a row", "every 1.5 s", "one in three"],
)
def test_sparse_isolated_detections_do_not_fire(seen: set[float]) -> None:
    frames = [_seen(i / FPS, PHONE_IN_HAND if i / FPS in seen else None) for i in range(40)]
    assert _run(frames) == []


def test_a_sustained_hand_at_the_ear_is_capped_and_never_fires_alone() -> None:
    sweeps = itertools.product((0.0, 0.5, 0.9, 1.0), (0.0, 0.5, 1.0), (0.0, 20.0, 50.0))
    for at_ear, in_front, pitch in sweeps:
        obs = make_obs(0.0, head=HeadPose(0, pitch, 0, 0, 0.3, 0.0))
        obs.hands = HandCues(2, at_ear=at_ear, in_front=in_front)
        cues = fuse(obs)
        assert cues.phone <= POSTURE_PRECISION and cues.phone_posture <= POSTURE_PRECISION
    assert PhoneConfig().min_confidence > POSTURE_PRECISION  # as measured: see fusion.py
    posture = [make_obs(i / FPS) for i in range(120)]  # 60 s with a hand at the ear
    for obs in posture:
        obs.hands = HandCues(1, at_ear=1.0)
        obs.cues = fuse(obs)
    assert _run(posture) == []


CONCEPT_NAMES = [
    # (label, concept) for COCO's names and deskwatch's own model's
    ("cell phone", "phone"),
    ("phone", "phone"),
    ("cup", "drink"),
    ("bottle", "drink"),
    ("wine glass", "drink"),
    ("drink", "drink"),
    ("banana", "food"),
    ("sandwich", "food"),
    ("food", "food"),
    ("book", "paper"),
    ("paper", "paper"),
]


@pytest.mark.parametrize(("label", "concept"), CONCEPT_NAMES)
def test_concepts_understand_both_name_sets(label: str, concept: str) -> None:
    found = Detections.from_lists([[100, 100, 140, 180]], [0.6], [label])
    got = concepts(found, HandCues(1, boxes=(Box(90, 120, 150, 200),)), None)
    scores = {"phone": got.phone, "drink": got.drink, "food": got.food, "paper": got.paper}
    assert scores == {k: (pytest.approx(0.6) if k == concept else 0.0) for k in scores}
    assert got.phone_held == (pytest.approx(0.6) if concept == "phone" else 0.0)
    assert got.persons == 0


def test_persons_are_counted_in_both_name_sets() -> None:
    found = Detections.from_lists([[0, 0, 300, 400]], [0.9], ["person"])
    assert concepts(found, None, None).persons == 1


def test_describe_names_every_concept() -> None:
    obs = Observation(0.0, 0, 640, 480)
    found = Detections.from_lists(
        [[10, 10, 50, 80], [100, 10, 150, 80], [200, 10, 260, 80]],
        [0.6, 0.7, 0.8],
        ["phone", "drink", "paper"],
    )
    obs.objects = concepts(found, None, None)
    text = describe(obs)
    assert text is not None
    for word in ("phone 0.60", "held 0.00", "drink 0.70", "food 0.00", "paper 0.80"):
        assert word in text


# --- real footage, with the COCO YOLOX-nano from ../shared --------------------------------


def _coco_toml() -> str:
    model = shared_file("models", "yolox-nano", "yolox_nano.onnx")
    labels = shared_file("models", "yolox-nano", "coco_classes.txt")
    return f'[detectors.objects]\nmodel_path = "{model}"\nlabels_path = "{labels}"\n'


def _coco_policy() -> Policy:
    return load_policy_text(_coco_toml())


def test_inspect_shows_the_held_phone_on_a_real_picture(tmp_path: Path) -> None:
    image = shared_file("data", "dev", "images", "person-looking-at-phone.jpg")
    policy = tmp_path / "objects.toml"
    policy.write_text(_coco_toml())
    run = subprocess.run(
        [sys.executable, "-m", "deskwatch", "inspect", str(image), "--policy", str(policy)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    obs = json.loads(run.stdout)
    objects = obs["objects"]
    assert {"phone", "phone_held", "drink", "food", "paper", "persons"} <= set(objects)
    assert objects["phone_held"] > PhoneConfig().min_confidence  # in her hand, by her face
    assert "cell phone" in {d["label"] for d in objects["detections"]}
    assert obs["cues"]["phone"] == objects["phone_held"]  # the held phone is the cue


@pytest.mark.parametrize("name", ["webcam-centre.mp4", "webcam-centre-left-centre.mp4"])
def test_no_phone_in_use_on_the_clips_without_a_phone(name: str) -> None:
    clip = shared_file("data", "dev", "videos", name)
    policy = _coco_policy()
    events: list[Event] = []
    source = open_source(str(clip), policy.analysis.fps)
    with Pipeline(policy) as pipeline:
        try:
            for frame in source:
                events += pipeline.process(frame)[1]
        finally:
            source.close()
        events += pipeline.finish()
    assert [e for e in events if e.type == "phone_in_use"] == []
