"""Table-driven rule tests on synthetic observation sequences, in frame time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from deskwatch.config import Policy, policy_from_dict
from deskwatch.events.event import Event
from deskwatch.perception.observation import CAMERA_CAUSES, Cues, HeadPose, Observation
from deskwatch.rules.camera import cause_words
from deskwatch.rules.registry import build_rules
from tests.conftest import COVERED, HEALTHY, make_obs

Script = list[tuple[float, float, Callable[[float], Observation]]]


def present(ts: float) -> Observation:
    return make_obs(ts, faces=1, head=HeadPose(0, 0, 0, 0, 0.3, 0.0))


def absent(ts: float) -> Observation:
    return make_obs(ts, faces=0)


def two_people(ts: float) -> Observation:
    return make_obs(ts, faces=2)


def covered(ts: float) -> Observation:
    return make_obs(ts, faces=0, camera=COVERED)


def turned(ts: float) -> Observation:
    return make_obs(ts, head=HeadPose(60, 0, 0, 0, 0.3, 0.0))


def eyes_away(ts: float) -> Observation:
    return make_obs(ts, head=HeadPose(30, 0, 0, 25, 0.3, 0.0))


def looking_down(ts: float) -> Observation:
    return make_obs(ts, head=HeadPose(5, 50, 0, 0, 0.2, 0.0))


def phone(ts: float) -> Observation:
    return replace(present(ts), cues=Cues(phone=0.8, phone_object=0.8))


def eating(ts: float) -> Observation:
    return replace(present(ts), cues=Cues(eating=0.7, eating_posture=0.7))


def replay(script: Script, policy: Policy, fps: float = 2.0) -> list[Event]:
    """Feed (start, end, maker) segments at ``fps``; return ended events."""
    rules = build_rules(policy.rules)
    events: list[Event] = []
    last = 0.0
    for start, end, maker in script:
        ts = start
        while ts < end:
            events += [e for r in rules for e in r.update(maker(ts), ts)]
            last, ts = ts, round(ts + 1 / fps, 6)
    events += [e for r in rules for e in r.flush(last)]
    return [e for e in events if not e.is_open]


EAT_ON = policy_from_dict({"rules": {"eating_drinking": {"enabled": True}}})

CASES = [
    # name, script, policy, expected [(type, start, end)]
    ("nothing", [(0, 60, present)], Policy(), []),
    (
        "away 40 s",
        [(0, 10, present), (10, 50, absent), (50, 60, present)],
        Policy(),
        [("away", 10, 50)],
    ),
    (
        "away 20 s is a break, not an event",
        [(0, 10, present), (10, 30, absent), (30, 40, present)],
        Policy(),
        [],
    ),
    (
        "a one-second return does not end away",
        [(0, 40, absent), (40, 41, present), (41, 80, absent), (80, 90, present)],
        Policy(),
        [("away", 0, 80)],
    ),
    (
        "extra person 6 s",
        [(0, 5, present), (5, 11, two_people), (11, 20, present)],
        Policy(),
        [("extra_person", 5, 11)],
    ),
    (
        "extra person 4 s is ignored",
        [(0, 5, present), (5, 9, two_people), (9, 20, present)],
        Policy(),
        [],
    ),
    (
        "camera covered",
        [(0, 5, present), (5, 15, covered), (15, 20, present)],
        Policy(),
        [("camera_obstructed", 5, 15)],
    ),
    ("covered camera is not away", [(0, 60, covered)], Policy(), [("camera_obstructed", 0, 59.5)]),
    (
        "head turned 25 s",
        [(0, 5, present), (5, 30, turned), (30, 40, present)],
        Policy(),
        [("looking_away", 5, 30)],
    ),
    (
        "head and eyes together",
        [(0, 25, eyes_away), (25, 30, present)],
        Policy(),
        [("looking_away", 0, 25)],
    ),
    ("looking down at notes never fires", [(0, 120, looking_down)], Policy(), []),
    (
        "phone 5 s",
        [(0, 5, present), (5, 10, phone), (10, 20, present)],
        Policy(),
        [("phone_in_use", 5, 10)],
    ),
    ("phone 2 s is ignored", [(0, 5, present), (5, 7, phone), (7, 20, present)], Policy(), []),
    ("eating is off by default", [(0, 30, eating)], Policy(), []),
    (
        "eating when enabled",
        [(0, 5, present), (5, 20, eating), (20, 30, present)],
        EAT_ON,
        [("eating_drinking", 5, 20)],
    ),
    (
        "open at the end is closed at the end",
        [(0, 5, present), (5, 45, absent)],
        Policy(),
        [("away", 5, 44.5)],
    ),
]


@pytest.mark.parametrize(
    ("script", "policy", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule_table(
    script: Script, policy: Policy, expected: list[tuple[str, float, float]]
) -> None:
    got = [(e.type, e.start_s, e.end_s) for e in replay(script, policy)]
    assert got == [(t, float(s), float(e)) for t, s, e in expected]


def test_thresholds_come_from_policy() -> None:
    strict = policy_from_dict({"rules": {"away": {"min_away_s": 5, "end_grace_s": 1}}})
    script: Script = [(0, 5, present), (5, 12, absent), (12, 20, present)]
    assert [(e.type, e.start_s, e.end_s) for e in replay(script, strict)] == [("away", 5, 12)]
    assert replay(script, Policy()) == []


def test_disabled_rule_never_fires() -> None:
    off = policy_from_dict({"rules": {"away": {"enabled": False}}})
    assert replay([(0, 100, absent)], off) == []


def test_event_carries_evidence_duration_and_peak() -> None:
    events = replay([(0, 5, present), (5, 12, two_people), (12, 20, present)], Policy())
    (event,) = events
    assert event.duration_s == pytest.approx(7.0)
    assert event.evidence["persons"] == 2.0
    assert 0 < event.peak_confidence <= 1


@pytest.mark.parametrize("cause", ["covered", "defocused", "moved", "looping"])
def test_camera_tamper_names_its_cause_in_the_evidence(cause: str) -> None:
    camera = replace(HEALTHY, baseline=True, **{cause: True})

    def tampered(ts: float) -> Observation:
        return make_obs(ts, camera=camera)

    (event,) = replay([(0, 5, present), (5, 15, tampered), (15, 20, present)], Policy())
    assert (event.type, event.start_s, event.end_s) == ("camera_obstructed", 5, 15)
    assert {k for k in CAMERA_CAUSES if event.evidence[k] == 1.0} == {cause}
    assert {k for k in CAMERA_CAUSES if event.evidence[k] == 0.0} == set(CAMERA_CAUSES) - {cause}
    assert cause_words(event.evidence) == CAMERA_CAUSES[cause]
    assert {"sharpness_ratio", "layout_match", "covered_share"} <= set(event.evidence)


def test_cause_words_list_every_cause_named() -> None:
    evidence = {"covered": 1.0, "dark": 1.0, "moved": 0.0, "brightness": 12.0}
    assert cause_words(evidence) == "covered, too dark"
    assert cause_words({}) == ""


def test_start_and_end_share_the_id() -> None:
    rules = build_rules(Policy().rules)
    seen: list[Event] = []
    for i in range(40):
        ts = i * 0.5
        maker = two_people if 2 <= ts < 12 else present
        seen += [e for r in rules for e in r.update(maker(ts), ts)]
    start, end = seen
    assert start.id == end.id and start.is_open and not end.is_open


def test_replay_is_deterministic() -> None:
    script: Script = [(0, 10, present), (10, 50, absent), (50, 60, two_people)]
    first = [(e.type, e.start_s, e.end_s, e.evidence) for e in replay(script, Policy())]
    second = [(e.type, e.start_s, e.end_s, e.evidence) for e in replay(script, Policy())]
    assert first == second and first
