"""The worker's settings on the agent fail closed: until they have been fetched nothing
runs; an invalid policy never holds back a privacy change; the heartbeat survives bugs; a
change keeps the open events of categories it did not touch.

Replies a real server never sends (no privacy settings, a policy this agent refuses) are
scripted with httpx's mock transport; the real server is used in test_objection.py.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from deskwatch.agent.heartbeat import Heartbeat
from deskwatch.agent.policy import CACHE, PolicyKeeper
from deskwatch.capture.frame import Frame
from deskwatch.config import Policy
from deskwatch.events.event import Event
from deskwatch.pipeline import Pipeline
from deskwatch.privacy.categories import CATEGORIES
from deskwatch.privacy.restrict import restrict
from deskwatch.rules.registry import RULE_NEEDS
from deskwatch.transport.client import DeviceClient, Versions
from tests.agent.conftest import wait_for

SENSITIVE = "[rules.looking_away]\nmax_yaw_deg = 30\n"
REFUSED = "[rules.looking_away]\nmax_yaw_deg = 300\n"  # out of range: this agent refuses it


def privacy(rev: int, *objected: str, off: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "rev": rev,
        "categories": [
            {
                "key": c.key,
                "title": c.title,
                "purpose": c.purpose,
                "legal_basis_words": "b",
                "retention_days": c.retention_days,
                "enabled": c.key not in off,
                "may_object": c.may_object,
                "objected": c.key in objected,
            }
            for c in CATEGORIES.values()
        ],
    }


def scripted(replies: list[dict[str, Any]]) -> DeviceClient:
    """A device client whose GET /policy answers ``replies`` in turn (the last repeats)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/heartbeat":
            return httpx.Response(200, json={"policy_version": 1, "privacy_rev": 1})
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return httpx.Response(200, json=reply)

    return DeviceClient(
        "http://server.test", "t", http=httpx.Client(transport=httpx.MockTransport(handler))
    )


def unreachable() -> DeviceClient:
    return DeviceClient("http://127.0.0.1:1", "t")


def runs_nothing(policy: Policy) -> bool:
    rules = [name for name in RULE_NEEDS if getattr(policy.rules, name).enabled]
    detectors = [c.type for c in policy.detectors.values() if c.enabled]
    return rules == [] and detectors == [] and not policy.identity.enabled


@pytest.mark.parametrize(
    "cache",
    [
        None,  # enrolled by an agent that did not fetch settings, or the cache was lost
        json.dumps({"version": 3, "toml": SENSITIVE}),  # a cache from before privacy settings
        json.dumps({"version": 3, "toml": SENSITIVE, "privacy": None}),
        "{not json",
        "[1, 2]",
        json.dumps({"version": 3, "toml": SENSITIVE, "privacy": {"categories": "all"}}),
    ],
)
def test_no_settings_yet_means_nothing_runs(tmp_path: Path, cache: str | None) -> None:
    if cache is not None:
        (tmp_path / CACHE).write_text(cache)
    keeper = PolicyKeeper(unreachable(), tmp_path)
    current = keeper.refresh()  # the server is unreachable
    assert not current.known and runs_nothing(current.policy)
    assert current.privacy.off() == list(CATEGORIES)
    assert "waiting for your privacy settings" in current.note
    assert not keeper.is_current(Versions(0, 0)) and not keeper.is_current(Versions(3, 0))
    with Pipeline(current.policy) as pipeline:
        assert pipeline.detectors == [] and pipeline.rules == []


def test_a_reply_without_settings_runs_nothing(tmp_path: Path) -> None:
    keeper = PolicyKeeper(scripted([{"version": 2, "toml": SENSITIVE, "privacy": None}]), tmp_path)
    current = keeper.refresh()
    assert not current.known and runs_nothing(current.policy)
    assert not (tmp_path / CACHE).exists()  # nothing to remember


def test_an_invalid_policy_does_not_hold_back_a_privacy_change(tmp_path: Path) -> None:
    replies = [
        {"version": 1, "toml": SENSITIVE, "privacy": privacy(1)},
        {"version": 2, "toml": REFUSED, "privacy": privacy(2, "conduct")},
    ]
    keeper = PolicyKeeper(scripted(replies), tmp_path)
    first = keeper.refresh()
    assert first.known and first.policy.rules.looking_away.enabled
    assert first.policy.rules.looking_away.max_yaw_deg == 30
    keeper.changed.clear()
    second = keeper.refresh()  # v2 is refused, the objection to conduct is applied anyway
    assert keeper.changed.is_set() and second.version == 1 and "v2 is invalid" in second.note
    assert not second.policy.rules.looking_away.enabled and second.privacy.rev == 2
    assert second.policy.rules.looking_away.max_yaw_deg == 30  # still v1's thresholds
    assert keeper.is_current(Versions(2, 2))  # the refused version is not fetched each beat
    cached = json.loads((tmp_path / CACHE).read_text())
    assert cached["version"] == 1 and cached["toml"] == SENSITIVE
    assert cached["privacy"]["rev"] == 2
    again = PolicyKeeper(unreachable(), tmp_path).current  # after a restart, offline
    assert again.known and not again.policy.rules.looking_away.enabled


def test_a_cache_that_cannot_be_written_still_applies_the_change(tmp_path: Path) -> None:
    (tmp_path / CACHE).mkdir()  # writing policy.json fails with an OSError
    keeper = PolicyKeeper(scripted([{"version": 1, "toml": "", "privacy": privacy(1)}]), tmp_path)
    assert not keeper.current.known
    current = keeper.refresh()
    assert current.known and keeper.current is current and keeper.changed.is_set()


def test_heartbeat_survives_a_failing_step(tmp_path: Path) -> None:
    keeper = PolicyKeeper(scripted([{"version": 1, "toml": "", "privacy": privacy(1)}]), tmp_path)
    calls: list[int] = []

    def beat() -> dict[str, object]:
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("a bug in the heartbeat body")
        return {"status": "at_desk", "sent_at": "2026-01-01T00:00:00+00:00", "detectors": {}}

    heartbeat = Heartbeat(keeper.client, beat, keeper, interval_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=heartbeat.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: heartbeat.sent >= 2, 10, "heartbeats after the failure")
        assert thread.is_alive() and keeper.current.known  # the refresh ran from a beat
    finally:
        stop.set()
        heartbeat.wake.set()
        thread.join(timeout=5)


def feed(pipeline: Pipeline, start: int, stop: int) -> list[Event]:
    """Frames ``start``..``stop`` (0.5 s apart) of an empty room: no detector is needed."""
    events: list[Event] = []
    for i in range(start, stop):
        events += pipeline.process(Frame(np.zeros((48, 64, 3), np.uint8), ts=i * 0.5, index=i))[1]
    return events


def test_a_change_of_other_categories_keeps_open_events_open() -> None:
    """A rebuilt pipeline takes over the rules whose settings did not change: an open
    ``away`` stays one event with one id; a rule switched off ends its event at once."""
    policy = restrict(Policy.model_validate({"rules": {"away": {"min_away_s": 2}}}), [])
    objected = restrict(policy, ["conduct"])
    old = Pipeline(policy, detectors=[])
    (opened,) = feed(old, 0, 10)
    carried, ended = old.hand_over(objected)
    assert ended == [] and set(carried.rules) == {
        "away",
        "phone_in_use",
        "extra_person",
        "camera_obstructed",
    }  # every rule of a category still on; looking_away (conduct) ended, nothing was open
    new = Pipeline(objected, detectors=[], carried=carried)
    assert feed(new, 10, 20) == []  # the same event goes on: no second start
    (closed,) = new.finish()
    assert closed.id == opened.id and closed.end_s == 9.5

    old = Pipeline(policy, detectors=[])
    (opened,) = feed(old, 0, 10)
    carried, ended = old.hand_over(restrict(policy, ["attendance"]))
    assert "away" not in carried.rules
    assert [(e.id, e.is_open) for e in ended] == [(opened.id, False)]
    stricter = Policy.model_validate({"rules": {"away": {"min_away_s": 5}}})
    old = Pipeline(policy, detectors=[])
    feed(old, 0, 10)
    carried, ended = old.hand_over(restrict(stricter, []))  # new thresholds: a new start
    assert "away" not in carried.rules and [e.type for e in ended] == ["away"]
