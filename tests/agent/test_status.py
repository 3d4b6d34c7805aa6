"""The loop's status from its events, and the frozen view the page reads."""

from __future__ import annotations

import pytest

from deskwatch.agent.status import Status
from deskwatch.events.event import Event
from tests.agent.test_units import ev


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([], "at_desk"),
        ([ev("away", end=None)], "away"),
        ([ev("away", end=None), ev("camera_obstructed", end=None)], "camera_problem"),
        ([ev("phone_in_use", end=None)], "at_desk"),  # only away and a covered camera count
        ([ev("away", end=5.0)], "at_desk"),  # ended at once
    ],
)
def test_open_events_set_the_status(events: list[Event], status: str) -> None:
    s = Status()
    s.track(events, "at_desk")
    assert s.status == status


def test_an_event_that_ends_gives_the_status_back() -> None:
    s = Status()
    opened = ev("away", end=None)
    assert s.track([opened], "at_desk") and s.status == "away"
    assert s.track([opened.closed(9.0)], "at_desk") and s.status == "at_desk"
    assert not s.track([], "at_desk")  # no change: the heartbeat need not hurry


def test_the_view_is_a_copy_the_loop_cannot_change() -> None:
    s = Status()
    s.track([ev("away", end=None)], "at_desk")
    view = s.view()
    s.track([ev("away", end=3.0)], "online")
    s.recent_events.clear()
    assert view.status == "away" and len(view.recent_events) == 1
