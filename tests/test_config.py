"""Policy loading: defaults, overrides, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskwatch.config import Policy, load_policy, load_policy_text
from deskwatch.errors import PolicyError
from deskwatch.perception.detectors.objects import ObjectsConfig


def test_defaults_are_the_documented_ones() -> None:
    p = Policy()
    assert p.analysis.fps == 2.0
    assert p.rules.away.min_away_s == 30
    assert p.rules.phone_in_use.min_phone_s == 3
    assert p.rules.extra_person.min_extra_s == 5
    assert p.rules.camera_obstructed.min_obstructed_s == 5
    assert p.rules.looking_away.max_yaw_deg == 45
    assert p.rules.looking_away.min_looking_away_s == 20
    assert not p.rules.eating_drinking.enabled
    objects = p.detectors["objects"]  # the shipped desk-object model, on by default
    assert isinstance(objects, ObjectsConfig) and objects.enabled and objects.model_path is None


def test_overrides_merge_with_defaults() -> None:
    p = load_policy_text(
        '[rules.away]\nmin_away_s = 10\n[detectors.objects]\nmodel_path = "m.onnx"\n'
        "[detectors.hands]\nenabled = false\n"
    )
    assert p.rules.away.min_away_s == 10 and p.rules.away.end_grace_s == 3
    assert isinstance(p.detectors["objects"], ObjectsConfig)
    assert not p.detectors["hands"].enabled and p.detectors["face"].enabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules.away]\nmin_awy_s = 1\n", "rules.away.min_awy_s: unknown key"),
        ("[rulez]\n", "rulez: unknown key"),
        ("[rules.away]\nmin_away_s = -1\n", "rules.away.min_away_s"),
        ("[detectors.face]\nmin_confidence = 2\n", "detectors.face.face.min_confidence"),
        ("[detectors.teleport]\n", "detectors.teleport"),
        ("not toml ===", "not valid TOML"),
        ("[detectors.emotion]\n", "emotion recognition is not available"),
        ('[analysis]\nnote = "sentiment"\n', "emotion recognition is not available"),
    ],
)
def test_bad_policies_are_refused_with_the_key_named(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace(".", r"\.")):
        load_policy_text(text)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "nope.toml")
