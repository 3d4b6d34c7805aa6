"""A short soak: the real agent (playing real footage) and a real server process, the server
SIGKILLed and restarted every few seconds, a flaky proxy between them that delays, cuts
requests, cuts replies after the server acted on them, and refuses connections for a while.
Then the agent stops and drains: every event is on the server exactly once, with its end.

The long version is ``python -m benchmarks.soak`` (see there).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.soak import Figures, Plan, soak

from tests.conftest import shared_file
from tests.flaky_proxy import Faults

FAULTS = Faults(drop_request_p=0.08, drop_reply_p=0.25, refuse_per_s=0.05)


def assert_exactly_once(figures: Figures, restarts: int) -> None:
    print(figures.report())
    assert figures.restarts >= restarts
    assert figures.event_replies_dropped >= 1, "no upload was stored but left unacknowledged"
    assert figures.lost == 0, figures.lost_ids[:10]
    assert figures.duplicated == 0 and figures.unexpected == 0
    assert figures.not_closed == 0, "a closed version that reached the outbox never arrived"
    assert figures.dead == 0
    assert figures.stored == figures.injected + figures.produced


def test_no_event_lost_or_duplicated_through_restarts_and_a_flaky_network(
    tmp_path: Path,
) -> None:
    clip = shared_file("data", "dev", "videos", "people-enter-leave-room.mp4")
    plan = Plan(seconds=60, restart_every_s=15, inject_every_s=1.0, inject_n=10, faults=FAULTS)
    figures = soak(plan, clip, tmp_path)
    assert figures.injected >= 300
    assert_exactly_once(figures, restarts=3)


def test_the_same_on_postgresql(tmp_path: Path) -> None:
    from tests.server.conftest import postgres_schema

    clip = shared_file("data", "dev", "videos", "people-enter-leave-room.mp4")
    plan = Plan(seconds=45, restart_every_s=12, inject_every_s=1.0, inject_n=10, faults=FAULTS)
    with postgres_schema("dw_soak") as engine:
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        figures = soak(plan, clip, tmp_path, url)
    assert figures.injected >= 200
    assert_exactly_once(figures, restarts=3)
