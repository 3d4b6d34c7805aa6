"""A worker's objection switches detectors off on their own agent: no frame reaches them,
at start, mid-run or while paused; and before the worker's settings have ever reached the
agent, nothing runs at all."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from deskwatch.agent import session as session_module
from deskwatch.agent.local_page import LocalPage
from deskwatch.agent.policy import CACHE
from deskwatch.agent.runner import AgentRunner
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.perception import registry
from deskwatch.perception.base import Detector
from deskwatch.perception.observation import Observation
from deskwatch.privacy.categories import CATEGORIES
from tests.agent.conftest import Server, enroll, enrolled_runner, live_runner, wait_for

PASSWORDS = {"admin": "pw-admin-123", "agent": "pw-agent-123"}


class Spy:
    """Counts the frames each detector is given, and how often each was built and closed."""

    built: ClassVar[Counter[str]] = Counter()
    closed: ClassVar[Counter[str]] = Counter()
    frames: ClassVar[Counter[str]] = Counter()

    def __init__(self, inner: Detector) -> None:
        self.inner, self.key = inner, inner.key
        Spy.built[inner.key] += 1

    def detect(self, frame: Frame, obs: Observation) -> None:
        Spy.frames[self.key] += 1
        self.inner.detect(frame, obs)

    def close(self) -> None:
        Spy.closed[self.key] += 1
        self.inner.close()

    @staticmethod
    def install(monkeypatch: pytest.MonkeyPatch) -> None:
        real_create = registry.create
        monkeypatch.setattr(registry, "create", lambda c: Spy(real_create(c)))
        for counter in (Spy.built, Spy.closed, Spy.frames):
            counter.clear()


def person(server: Server, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=10)
    reply = client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]}
    )
    assert reply.status_code == 200, reply.text
    client.headers["x-csrf-token"] = reply.json()["csrf_token"]
    return client


def test_objection_stops_detectors_on_the_agent_and_withdrawal_restarts_them(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Spy.install(monkeypatch)
    admin, agent = person(server, "admin"), person(server, "agent")
    # The team runs attendance only (security off); the worker objects to conduct.
    set_category(admin, agent, "security", enabled=False)
    assert agent.put("/api/v1/me/objections/conduct", json={"objected": True}).status_code == 200

    state = tmp_path / "agent"
    runner = enrolled_runner(server, state, clip)
    with running(runner):
        wait_for(lambda: Spy.frames["face"] >= 10, 30, "frames analysed")
        # Attendance keeps the object detector: its person boxes tell presence.
        assert set(Spy.built) == {"camera_health", "face", "objects"}
        assert not (set(Spy.frames) - {"camera_health", "face", "objects"})
        beat: dict[str, Any] = runner.beat()
        assert beat["detectors"] == {"camera_health": True, "face": True, "objects": True}
        text = render(runner)  # the worker's page says so, in plain words and truly
        assert "Desk conduct" in text and "off: you objected; its rules do not run" in text
        assert (
            "not looked at on this PC: which way your head is turned; where your hands are "
            "(no picture reaches these checks)"
        ) in text
        assert (
            "still looked at for other categories that are on: whether your face is in view; "
            "phones, drinks, food, paper and other people"
        ) in text
        assert runner.policy.current.privacy.off() == [
            "security",
            "conduct",
            "environment",
            "identity",
        ]

        # Withdrawn: within a heartbeat (and the server's 5 s cache) the detectors return.
        agent.put("/api/v1/me/objections/conduct", json={"objected": False})
        wait_for(lambda: Spy.frames["face_mesh"] > 0, 30, "face mesh after withdrawal")
        # Hands serve only phone use (security: off) and eating (off in the default policy).
        assert set(Spy.built) == {"camera_health", "face", "face_mesh", "objects"}

        # Objected again mid-run: the face mesh is closed and gets no further frame.
        agent.put("/api/v1/me/objections/conduct", json={"objected": True})
        wait_for(lambda: Spy.closed["face_mesh"] == Spy.built["face_mesh"], 30, "mesh closed")
        frozen, faces = Spy.frames["face_mesh"], Spy.frames["face"]
        wait_for(lambda: Spy.frames["face"] >= faces + 10, 30, "frames after the objection")
        assert Spy.frames["face_mesh"] == frozen and Spy.built["face_mesh"] == 1


def render(runner: AgentRunner) -> str:
    page = LocalPage(runner, 0)
    try:
        return page.render()
    finally:
        page.server.server_close()


@contextmanager
def running(runner: AgentRunner) -> Iterator[AgentRunner]:
    """The agent's loop in a thread for the ``with`` block; stopped cleanly after it."""
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        runner.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every source the agent opens (the camera, here the clip)."""
    specs: list[str] = []

    def counting_open(spec: str, fps: float) -> FrameSource:
        specs.append(spec)
        return open_source(spec, fps)

    monkeypatch.setattr(session_module, "open_source", counting_open)
    return specs


def set_category(admin: httpx.Client, agent: httpx.Client, key: str, **change: Any) -> None:
    """An admin's change to a category of the agent's team, through the real API."""
    team_id = agent.get("/api/v1/auth/me").json()["team_id"]
    reply = admin.put(f"/api/v1/teams/{team_id}/categories/{key}", json=change)
    assert reply.status_code == 200, reply.text


def test_nothing_runs_until_the_settings_arrive(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: list[str]
) -> None:
    """Enrolment caches the settings; without that cache and without the server (an
    agent enrolled by an older version, a lost cache) nothing runs and nothing is kept."""
    Spy.install(monkeypatch)
    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    cached = json.loads((state / CACHE).read_text())
    assert cached["privacy"]["categories"], "enrolment did not fetch the worker's settings"
    (state / CACHE).unlink()
    server.stop()
    runner = live_runner(state, clip)
    with running(runner):
        threading.Event().wait(3.0)
        assert opened == [] and runner.session.source is None and not Spy.built
        assert len(runner.outbox) == 0 and not runner.policy.current.known
        assert runner.beat()["detectors"] == {}
        text = render(runner)
        assert "Monitoring waits for your privacy settings from the server" in text
        assert text.count("off until your settings arrive from the server") >= len(CATEGORIES)

        server.start()  # the next heartbeat finds the server and fetches the settings
        wait_for(lambda: Spy.frames["face"] >= 5, 60, "monitoring once the settings arrived")
        assert runner.policy.current.known and opened
        assert "Monitoring waits" not in render(runner)


def test_an_objection_while_paused_is_in_force_on_resume(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Spy.install(monkeypatch)
    admin, agent = person(server, "admin"), person(server, "agent")
    set_category(admin, agent, "security", enabled=False)
    state = tmp_path / "agent"
    runner = enrolled_runner(server, state, clip)
    assert "conduct" not in runner.policy.current.privacy.off()  # from enrolment's cache
    runner.control.pause()
    with running(runner):
        wait_for(lambda: '"paused"' in runner.client.last_sent.get("heartbeat", ""), 10, "beat")
        assert (
            agent.put("/api/v1/me/objections/conduct", json={"objected": True}).status_code == 200
        )
        wait_for(lambda: "conduct" in runner.policy.current.privacy.off(), 30, "the objection")
        assert not Spy.built and runner.session.pipeline is None  # nothing is built while paused
        runner.control.resume()
        wait_for(lambda: Spy.frames["face"] >= 5, 30, "frames after resume")
        assert (
            set(Spy.built) == {"camera_health", "face", "objects"} and Spy.frames["face_mesh"] == 0
        )


def test_without_attendance_the_agent_reports_online_not_presence(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attendance off for the team: the agent runs (security still on) but its heartbeats
    say only "online", and the board shows that; switched back on, presence returns."""
    Spy.install(monkeypatch)
    admin, agent = person(server, "admin"), person(server, "agent")
    set_category(admin, agent, "attendance", enabled=False)
    state = tmp_path / "agent"
    runner = enrolled_runner(server, state, clip)

    def sent(status: str) -> bool:
        return f'"status":"{status}"' in runner.client.last_sent.get("heartbeat", "").replace(
            " ", ""
        )

    with running(runner):
        wait_for(lambda: Spy.frames["face"] >= 5 and sent("online"), 30, "an online heartbeat")
        assert not runner.policy.current.policy.rules.away.enabled
        [row] = admin.get("/api/v1/board").json()
        assert row["status"] == "online"
        set_category(admin, agent, "attendance", enabled=True)
        wait_for(lambda: sent("at_desk") or sent("away"), 30, "presence after switching on")


def test_settings_take_effect_while_paused(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stills on for conduct; the worker pauses, then objects: the agent stops keeping
    conduct stills at once, not only when monitoring resumes (a sealed one waiting to be
    sent is dropped too)."""
    Spy.install(monkeypatch)
    admin, agent = person(server, "admin"), person(server, "agent")
    set_category(admin, agent, "conduct", snapshot=True)
    state = tmp_path / "agent"
    runner = enrolled_runner(server, state, clip)
    runner.control.pause()
    with running(runner):
        wait_for(lambda: runner.snapshots.categories == {"conduct"}, 10, "stills on")
        assert (
            agent.put("/api/v1/me/objections/conduct", json={"objected": True}).status_code == 200
        )
        wait_for(lambda: not runner.snapshots.categories, 30, "stills off while still paused")
        assert runner.control.state().paused and not Spy.built


def test_with_every_category_off_the_camera_stays_closed(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: list[str]
) -> None:
    Spy.install(monkeypatch)
    admin, agent = person(server, "admin"), person(server, "agent")
    for key in ("security", "attendance"):
        set_category(admin, agent, key, enabled=False)
    assert agent.put("/api/v1/me/objections/conduct", json={"objected": True}).status_code == 200
    state = tmp_path / "agent"
    runner = enrolled_runner(server, state, clip)
    with running(runner):
        wait_for(lambda: '"online"' in runner.client.last_sent.get("heartbeat", ""), 10, "beat")
        threading.Event().wait(2.0)
        assert opened == [] and runner.session.source is None and not Spy.built
        assert "every monitoring category is off" in render(runner)
