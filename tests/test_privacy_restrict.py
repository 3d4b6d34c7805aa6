"""Categories switched off: their rules never fire and unneeded detectors are never built.

``RULE_NEEDS`` is checked against behaviour: detectors that report a scripted scene (each
writes the one observation field its real detector writes, checked on real footage below)
drive the real pipeline, fusion and rules; each rule must fire exactly as with every
detector when given only its listed ones, and lose a scene without any one of them.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import pytest

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source
from deskwatch.config import Policy, policy_from_dict
from deskwatch.perception import registry
from deskwatch.perception.base import Detector
from deskwatch.perception.detections import Detections
from deskwatch.perception.detectors.objects import ObjectsConfig
from deskwatch.perception.fusion import POSTURE_PRECISION
from deskwatch.perception.observation import (
    AudioObservation,
    CameraHealth,
    HandCues,
    HeadPose,
    ObjectConcepts,
    Observation,
)
from deskwatch.pipeline import Pipeline
from deskwatch.privacy.categories import CATEGORIES, category_of
from deskwatch.privacy.restrict import restrict
from deskwatch.privacy.worker import WorkerCategory, WorkerPrivacy
from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS, RulesConfig
from tests.conftest import COVERED, HEALTHY, face_boxes, shared_file
from tests.test_pipeline_e2e import analyse


def _detectors_on(policy: Policy) -> set[str]:
    return {c.type for c in policy.detectors.values() if c.enabled}


def _rules_on(policy: Policy) -> set[str]:
    return {name for name in RULE_NEEDS if getattr(policy.rules, name).enabled}


def test_every_rule_has_a_category_and_declared_needs() -> None:
    assert set(RULE_NEEDS) == set(RulesConfig.model_fields)
    assert all(category_of(rule) for rule in RULE_NEEDS)
    assert all(set(needs) <= set(registry.stage_order()) for needs in RULE_NEEDS.values())
    for cat in CATEGORIES.values():
        assert set(cat.reviewed_types) <= set(cat.event_types)


def test_objecting_to_conduct_keeps_detectors_security_still_needs() -> None:
    policy = restrict(Policy(), ["conduct"])
    assert not policy.rules.looking_away.enabled and policy.rules.phone_in_use.enabled
    assert _detectors_on(policy) == {"camera_health", "face", "face_mesh", "hands"}


def test_with_security_also_off_face_mesh_and_hands_are_never_built() -> None:
    policy = restrict(Policy(), ["conduct", "security", "environment"])
    assert _detectors_on(policy) == {"camera_health", "face"}
    with Pipeline(policy) as pipeline:
        assert [d.key for d in pipeline.detectors] == ["camera_health", "face"]


def test_before_the_first_fetch_nothing_runs() -> None:
    """Fail closed: any category can be switched off for a team, so none is on yet."""
    unknown = WorkerPrivacy.unknown()
    assert unknown.off() == list(CATEGORIES) and unknown.on() == frozenset()
    policy = restrict(policy_from_dict({"identity": {"enabled": True}}), unknown.off())
    assert _rules_on(policy) == set() and _detectors_on(policy) == set()
    assert not policy.identity.enabled
    with Pipeline(policy) as pipeline:
        assert pipeline.detectors == [] and pipeline.rules == []


def _category(key: str, *, enabled: bool = True, objected: bool = False) -> WorkerCategory:
    return WorkerCategory(
        key=key,
        title=key,
        purpose="p",
        legal_basis_words="b",
        retention_days=30,
        enabled=enabled,
        may_object=True,
        objected=objected,
    )


def test_a_category_the_server_left_out_is_off_and_unknown_keys_switch_nothing_on() -> None:
    privacy = WorkerPrivacy(
        categories=[
            _category("attendance"),
            _category("conduct", objected=True),
            _category("telepathy"),  # a newer server's category: nothing of it exists here
        ]
    )
    assert privacy.on() == {"attendance"}
    assert privacy.off() == ["security", "conduct", "environment", "identity"]
    policy = restrict(policy_from_dict({"identity": {"enabled": True}}), privacy.off())
    assert _rules_on(policy) == {"away"} and not policy.identity.enabled
    assert _detectors_on(policy) == {"camera_health", "face"}
    assert restrict(Policy(), ["telepathy"]) == restrict(Policy(), [])


def test_audio_rules_build_nothing_without_audio() -> None:
    """The agent never captures audio: an environment category that is on builds nothing."""
    off = [k for k in CATEGORIES if k != "environment"]
    without = restrict(Policy(), off)
    assert _rules_on(without) == set() and _detectors_on(without) == set()
    with_audio = restrict(Policy(), off, audio=True)
    assert _rules_on(with_audio) == AUDIO_RULES
    assert _detectors_on(with_audio) == {"face", "face_mesh"}


def test_an_objected_category_produces_no_events_on_real_footage() -> None:
    clip = str(shared_file("data", "dev", "videos", "webcam-centre-left-centre.mp4"))
    sensitive = {
        "analysis": {"full_check_every_s": 1},
        "rules": {"looking_away": {"max_yaw_deg": 8, "min_looking_away_s": 2}},
    }
    watched = analyse(clip, policy_from_dict(sensitive))
    assert [e.type for e in watched.events] == ["looking_away"]
    objected = analyse(clip, restrict(policy_from_dict(sensitive), ["conduct"]))
    assert objected.error is None and objected.events == []


def test_identity_check_runs_only_while_its_category_is_on() -> None:
    policy = policy_from_dict({"identity": {"enabled": True}})
    assert restrict(policy, ["conduct"]).identity.enabled
    assert not restrict(policy, ["identity"]).identity.enabled


# --- RULE_NEEDS is exact ----------------------------------------------------------------
# The one observation field each detector declares it writes (checked on real footage below).
WRITES: dict[str, str] = {str(k): spec.output for k, spec in registry.detectors().items()}
LEVEL = HeadPose(0.0, 0.0, 0.0, 0.0, 0.3, 0.1)


def _objects(phone: float = 0.0, drink: float = 0.0, persons: int = 0) -> ObjectConcepts:
    return ObjectConcepts(Detections(), phone=phone, phone_held=phone, drink=drink, persons=persons)


NO_HANDS = HandCues(0)
ONE_PERSON = _objects(persons=1)


@dataclass(frozen=True)
class Scene:
    """What each detector reports on every frame (and the room audio, if any)."""

    name: str
    faces: int = 1
    camera: CameraHealth = HEALTHY
    head: HeadPose = LEVEL
    hands: HandCues = NO_HANDS
    objects: ObjectConcepts = ONE_PERSON
    audio: AudioObservation | None = None


def _voice(speech: float, floor_dbfs: float = -60.0) -> AudioObservation:
    return AudioObservation(0.0, 1.0, -20.0, floor_dbfs, speech)


SCENES: dict[str, list[Scene]] = {
    "away": [
        Scene("nobody", faces=0, objects=_objects()),
        Scene("a face the person detector misses", objects=_objects()),
        Scene("seen from behind", faces=0),
        Scene("camera covered", faces=0, camera=COVERED, objects=_objects()),
    ],
    "phone_in_use": [
        Scene("a phone held", objects=_objects(phone=0.9, persons=1)),
        Scene("a hand at the ear", hands=HandCues(1, at_ear=0.9)),
        Scene(
            "handled with the head down",
            head=HeadPose(0.0, 30.0, 0.0, 0.0, 0.3, 0.1),
            hands=HandCues(2, in_front=0.9),
        ),
        Scene("nothing", hands=HandCues(1)),
    ],
    "extra_person": [
        Scene("two faces", faces=2),
        Scene("two bodies", objects=_objects(persons=2)),
        Scene("alone"),
    ],
    "camera_obstructed": [Scene("covered", faces=0, camera=COVERED), Scene("clear")],
    "looking_away": [
        Scene("turned away", head=HeadPose(60.0, 0.0, 0.0, 0.0, 0.3, 0.1)),
        Scene("looking down at notes", head=HeadPose(0.0, 40.0, 0.0, 0.0, 0.3, 0.1)),
    ],
    "eating_drinking": [
        Scene("a sip", hands=HandCues(1, at_mouth=0.7), objects=_objects(drink=0.8, persons=1)),
        Scene("a cup on the desk", objects=_objects(drink=0.9, persons=1)),
        Scene("hand near the mouth", hands=HandCues(1, at_mouth=0.7)),
    ],
    "background_noise": [
        Scene("a loud room", audio=_voice(0.0, floor_dbfs=-20.0)),
        Scene("a quiet room", audio=_voice(0.0)),
    ],
    "other_voice": [
        Scene("someone else speaks", audio=_voice(0.8)),
        Scene("silence", audio=_voice(0.0)),
    ],
}


class Scripted:
    """A detector that writes the scene's value into its one field (``key``: see
    ``scripted``)."""

    key: ClassVar[str] = ""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene

    def detect(self, frame: Frame, obs: Observation) -> None:
        s = self.scene
        values = {
            "camera": s.camera,
            "faces": face_boxes(s.faces),
            "head": s.head,
            "hands": s.hands,
            "objects": s.objects,
        }
        field = WRITES[self.key]
        if field in values:  # a detector no scene speaks of leaves its field as it is
            setattr(obs, field, values[field])

    def close(self) -> None:
        pass


def scripted(key: str, scene: Scene) -> Detector:
    return type(f"Scripted_{key}", (Scripted,), {"key": key})(scene)  # type: ignore[no-any-return]


# Posture alone reaches only its measured precision, below the phone rule's default
# threshold: at the threshold of the cap a posture scene fires, so each detector it reads
# can be seen to matter.
SETTINGS: dict[str, dict[str, float]] = {"phone_in_use": {"min_confidence": POSTURE_PRECISION}}


def _fires(rule: str, scene: Scene, detectors: Set[str]) -> bool:
    """Whether ``rule`` (alone, default thresholds but ``SETTINGS``) fires on 40 s of
    ``scene``."""
    rules = {name: {"enabled": name == rule, **SETTINGS.get(name, {})} for name in RULE_NEEDS}
    policy = policy_from_dict({"analysis": {"full_check_every_s": 0.5}, "rules": rules})
    built = [scripted(k, scene) for k in registry.stage_order() if k in detectors]
    events = []
    with Pipeline(policy, detectors=built) as pipeline:
        for i in range(80):
            frame = Frame(np.zeros((48, 64, 3), np.uint8), ts=i * 0.5, index=i)
            events += pipeline.process(frame, scene.audio)[1]
        events += pipeline.finish()
    return any(e.type == rule for e in events)


@pytest.mark.parametrize("rule", sorted(RULE_NEEDS))
def test_each_rule_reads_exactly_its_listed_detectors(rule: str) -> None:
    needs, everything = RULE_NEEDS[rule], set(registry.stage_order())
    with_all = {s.name: _fires(rule, s, everything) for s in SCENES[rule]}
    assert any(with_all.values()) and not all(with_all.values()), with_all
    # Enough: with only its listed detectors the rule decides every scene as with all.
    assert {s.name: _fires(rule, s, needs) for s in SCENES[rule]} == with_all
    # Each one matters: without it, some scene is decided differently.
    for missing in sorted(needs):
        changed = [
            s.name for s in SCENES[rule] if _fires(rule, s, needs - {missing}) != with_all[s.name]
        ]
        assert changed, f"{rule} decides every scene the same without {missing}"


def _real(key: str) -> Detector:
    if key != "objects":  # its default settings, in the default policy or not
        config = Policy().detectors.get(key)
        spec = registry.spec_of(key)
        return registry.create(config or spec.config.model_validate({"type": key}))
    model = shared_file("models", "yolox-nano", "yolox_nano.onnx")
    labels = shared_file("models", "yolox-nano", "coco_classes.txt")
    return registry.create(ObjectsConfig(model_path=model, labels_path=labels))


@pytest.mark.parametrize("key", registry.stage_order())
def test_each_real_detector_writes_the_field_the_scripted_one_does(key: str) -> None:
    clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    source = open_source(str(clip), fps=2)
    try:
        frame = next(iter(source))
    finally:
        source.close()
    blank = Observation(frame.ts, frame.index, frame.width, frame.height)
    obs = Observation(frame.ts, frame.index, frame.width, frame.height)
    detector = _real(key)
    try:
        detector.detect(frame, obs)
    finally:
        detector.close()
    changed = {
        f.name
        for f in fields(Observation)
        if repr(getattr(obs, f.name)) != repr(getattr(blank, f.name))
    }
    assert changed == {WRITES[key]}
