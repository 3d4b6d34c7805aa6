"""The whole pipeline on real footage and on the demo clip."""

from __future__ import annotations

import numpy as np
import pytest

from deskwatch import analysis
from deskwatch.arrays import as_image
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import open_source
from deskwatch.config import Policy, policy_from_dict
from deskwatch.demo.clip import DemoSource
from deskwatch.events.event import Event
from deskwatch.pipeline import Pipeline
from tests.conftest import shared_file


def analyse(spec: str, policy: Policy) -> analysis.Outcome:
    with Pipeline(policy) as pipeline:
        return analysis.run(open_source(spec, policy.analysis.fps), pipeline)


def spans(events: list[Event], kind: str) -> list[tuple[float, float]]:
    return [(e.start_s, e.end_s or 0.0) for e in events if e.type == kind]


def test_gaze_to_the_left_in_the_middle_of_the_clip() -> None:
    clip = shared_file("data", "dev", "videos", "webcam-centre-left-centre.mp4")
    # The subject glances left with the eyes (~15°), head still: a sensitive test policy.
    policy = policy_from_dict(
        {
            "analysis": {"full_check_every_s": 1},
            "rules": {"looking_away": {"max_yaw_deg": 8, "min_looking_away_s": 2}},
        }
    )
    result = analyse(str(clip), policy)
    assert result.error is None
    (span,) = spans(result.events, "looking_away")
    assert 4.5 <= span[0] <= 7.5 and 9.5 <= span[1] <= 12.0
    assert [e.type for e in result.events] == ["looking_away"]


# Seconds with nobody in view, from the footage's README (a COCO person detector at 1 fps).
EMPTY_ROOM = [(0, 7), (20, 23), (43, 49), (69, 74), (86, 93), (119, 123), (135, 139)]


def test_presence_in_a_room_seen_from_behind_uses_the_person_detector() -> None:
    clip = shared_file("data", "dev", "videos", "people-enter-leave-room.mp4")
    model = shared_file("models", "yolox-nano", "yolox_nano.onnx")
    labels = shared_file("models", "yolox-nano", "coco_classes.txt")
    policy = policy_from_dict(
        {
            "rules": {"away": {"min_away_s": 2, "end_grace_s": 1}},
            "detectors": {"objects": {"model_path": str(model), "labels_path": str(labels)}},
        }
    )
    result = analyse(str(clip), policy)
    got = spans(result.events, "away")
    assert len(got) == len(EMPTY_ROOM)
    for (start, end), (want_start, want_end) in zip(got, EMPTY_ROOM, strict=True):
        assert abs(start - want_start) <= 2.5 and abs(end - want_end) <= 2.5


def test_default_policy_is_quiet_on_an_agent_at_work() -> None:
    for name in ("webcam-centre.mp4", "webcam-centre-left-centre.mp4"):
        clip = shared_file("data", "dev", "videos", name)
        assert analyse(str(clip), Policy()).events == []


def test_two_people_in_view() -> None:
    gif = shared_file("data", "dev", "videos", "two-people-head-turns.gif")
    policy = policy_from_dict({"rules": {"extra_person": {"min_extra_s": 2}}})
    result = analyse(str(gif), policy)
    assert spans(result.events, "extra_person")


def test_demo_clip_tells_its_story() -> None:
    with Pipeline(Policy()) as pipeline:
        result = analysis.run(DemoSource(), pipeline)
    assert [e.type for e in result.events] == ["away", "extra_person"]
    (away,) = spans(result.events, "away")
    (extra,) = spans(result.events, "extra_person")
    assert away == pytest.approx((20.0, 60.0), abs=1.0)
    assert extra == pytest.approx((80.0, 95.0), abs=1.0)


def test_covered_camera_is_obstruction_not_absence() -> None:
    demo = DemoSource()
    frames = [Frame(demo.render(t / 2), t / 2, t) for t in range(20)]
    rng = np.random.default_rng(3)
    for t in range(20, 40):  # a hand over the lens: near-black with sensor noise
        dark = as_image(rng.integers(0, 12, (360, 640, 3)))
        frames.append(Frame(dark, t / 2, t))
    with Pipeline(Policy()) as pipeline:
        events = [e for f in frames for e in pipeline.process(f)[1]] + pipeline.finish()
    ended = [e for e in events if not e.is_open]
    assert [e.type for e in ended] == ["camera_obstructed"]
    assert ended[0].start_s == pytest.approx(10.0)


def test_gate_skips_costly_stages_on_a_still_scene() -> None:
    with Pipeline(Policy()) as pipeline:
        analysis.run(DemoSource(), pipeline)
        stats = pipeline.stats
    assert stats["face"].calls == 200
    # Mesh and hands ran at the forced checks (every 5 s) and on changes only.
    assert stats["face_mesh"].calls < 40 and stats["hands"].calls < 40
    assert stats["face_mesh"].calls >= 100 / 5


def test_without_gating_every_stage_runs_every_frame() -> None:
    always = policy_from_dict({"analysis": {"full_check_every_s": 0.001}})
    with Pipeline(always) as pipeline:
        for i in range(10):
            pipeline.process(Frame(DemoSource().render(i / 2), i / 2, i))
        assert {k: v.calls for k, v in pipeline.stats.items() if k != "gate"} == {
            "camera_health": 10,
            "face": 10,
            "face_mesh": 10,
            "hands": 10,
            "objects": 10,
        }


def test_disabled_detector_is_never_built() -> None:
    policy = policy_from_dict({"detectors": {"hands": {"enabled": False}}})
    with Pipeline(policy) as pipeline:
        assert "hands" not in [d.key for d in pipeline.detectors]
        for i in range(12):
            obs, _ = pipeline.process(Frame(DemoSource().render(i / 2), i / 2, i))
            assert "hands" not in obs.stages and obs.hands is None


def test_frames_must_move_forward() -> None:
    with Pipeline(Policy()) as pipeline:
        frame = Frame(DemoSource().render(0), 1.0, 0)
        pipeline.process(frame)
        with pytest.raises(ValueError, match="not after"):
            pipeline.process(frame)
