"""A worker's objection switches detectors off on their own agent: no frame reaches them."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from deskwatch import perception
from deskwatch.agent.config import load_credentials
from deskwatch.agent.local_page import LocalPage
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.capture.frame import Frame
from deskwatch.perception.base import Detector
from deskwatch.perception.observation import Observation
from deskwatch.transport.client import DeviceClient
from tests.agent.conftest import Server, enroll, wait_for

PASSWORDS = {"admin": "pw-admin-123", "agent": "pw-agent-123"}


class Spy:
    """Counts the frames each detector is given and which detectors were ever built."""

    built: ClassVar[Counter[str]] = Counter()
    frames: ClassVar[Counter[str]] = Counter()

    def __init__(self, inner: Detector) -> None:
        self.inner, self.key = inner, inner.key
        Spy.built[inner.key] += 1

    def detect(self, frame: Frame, obs: Observation) -> None:
        Spy.frames[self.key] += 1
        self.inner.detect(frame, obs)

    def close(self) -> None:
        self.inner.close()


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
    real_create = perception.create
    monkeypatch.setattr(perception, "create", lambda c: Spy(real_create(c)))
    Spy.built.clear()
    Spy.frames.clear()
    admin, agent = person(server, "admin"), person(server, "agent")
    team_id = agent.get("/api/v1/auth/me").json()["team_id"]
    # The team runs attendance only (security off); the worker objects to conduct.
    off = admin.put(f"/api/v1/teams/{team_id}/categories/security", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert agent.put("/api/v1/me/objections/conduct", json={"objected": True}).status_code == 200

    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    opts = RunOptions(source=str(clip), realtime=True, rate=5, heartbeat_s=0.3, page_port=None)
    runner = AgentRunner(config, state, opts, DeviceClient(config.server_url, config.token))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: Spy.frames["face"] >= 10, 30, "frames analysed")
        assert set(Spy.built) == {"camera_health", "face"}
        assert not (set(Spy.frames) - {"camera_health", "face"})
        beat: dict[str, Any] = runner.beat()
        assert beat["detectors"] == {"camera_health": True, "face": True}
        page = LocalPage(runner, 0)  # the worker's page says so, in plain words
        text = page.render()
        page.server.server_close()
        assert "Desk conduct" in text and "off: you objected" in text
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
        assert set(Spy.built) == {"camera_health", "face", "face_mesh"}
    finally:
        runner.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
