"""Categories switched off: their rules never fire and unneeded detectors are never built."""

from __future__ import annotations

from deskwatch.config import Policy, policy_from_dict
from deskwatch.pipeline import Pipeline
from deskwatch.privacy.categories import CATEGORIES, RULE_NEEDS, category_of, restrict
from deskwatch.privacy.worker import WorkerPrivacy
from deskwatch.rules import RulesConfig
from tests.conftest import shared_file
from tests.test_pipeline_e2e import analyse


def _detectors_on(policy: Policy) -> set[str]:
    return {c.type for c in policy.detectors.values() if c.enabled}


def test_every_rule_has_a_category_and_declared_needs() -> None:
    assert set(RULE_NEEDS) == set(RulesConfig.model_fields)
    assert all(category_of(rule) for rule in RULE_NEEDS)
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


def test_worker_defaults_leave_opt_in_categories_off() -> None:
    assert WorkerPrivacy.defaults().off() == ["environment", "identity"]


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
